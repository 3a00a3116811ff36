"""The emulator's DynamoDB serializer writes exactly what moto's own shape-driven serializer writes."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from moto.core import serialize
from moto.core.serialize import JSONSerializer, XFormedAttributePicker
from moto.core.utils import get_service_model
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.utilities import dynamo_to_dict

from local.emulator_serializer import DynamoJSONSerializer, install

PHOTO = bytes(range(256))
WIRE: dict[str, Any] = {  # the request form (binary base64), every AttributeValue member, nested and empty
    "pk": {"S": "TRIP#trip-1"}, "sk": {"S": "record"}, "empty": {"S": ""}, "fixes": {"N": "12"},
    "ratio": {"N": "-0.000125"}, "photo": {"B": base64.b64encode(PHOTO).decode()},
    "thumbs": {"BS": [base64.b64encode(b"a").decode(), base64.b64encode(b"\x00\xff").decode()]},
    "tags": {"SS": ["night", "walk"]}, "scores": {"NS": ["1", "2.5"]}, "gone": {"NULL": True},
    "active": {"BOOL": True}, "arrived": {"BOOL": False}, "none": {"L": []}, "nothing": {"M": {}},
    "route": {"L": [{"L": [{"N": "37.5665"}, {"N": "126.978"}]}, {"L": [{"N": "37.57"}, {"N": "126.98"}]}]},
    "movement": {"M": {"anchor": {"M": {"t_ms": {"N": "1"}, "raw": {"B": base64.b64encode(b"\x01").decode()}}},
                       "moved_ms": {"NULL": True}, "flags": {"L": [{"BOOL": False}, {"S": "x"}]}}},
}


def item() -> dict[str, Any]:
    return {name: DynamoType(value) for name, value in WIRE.items()}


def serialized(cls: type[JSONSerializer], operation: str, result: dict[str, Any]) -> Any:
    model = get_service_model("dynamodb").operation_model(operation)
    body = cls(operation_model=model, value_picker=XFormedAttributePicker()).serialize(dynamo_to_dict(result))["body"]
    return json.loads(body)


RESULTS: dict[str, dict[str, Any]] = {
    "GetItem": {"Item": item(), "ConsumedCapacity": {"TableName": "records", "CapacityUnits": 0.5}},
    "PutItem": {"Attributes": item()},
    "Query": {"Items": [item(), item()], "Count": 2, "ScannedCount": 2,
              "LastEvaluatedKey": {"pk": DynamoType({"S": "a"}), "sk": DynamoType({"S": "b"})}},
    "BatchGetItem": {"Responses": {"records": [item()]}, "UnprocessedKeys": {}},
    "UpdateItem": {"Attributes": {"fixes": DynamoType({"N": "13"})}},
}


@pytest.mark.parametrize("operation", sorted(RESULTS))
def test_same_body_as_moto(operation: str) -> None:
    assert serialized(DynamoJSONSerializer, operation, RESULTS[operation]) == serialized(
        JSONSerializer, operation, RESULTS[operation])


def test_the_wire_form_comes_back() -> None:
    body = serialized(DynamoJSONSerializer, "GetItem", RESULTS["GetItem"])
    assert body["Item"] == WIRE  # what DynamoDB answers is what was put, binary as base64
    assert base64.b64decode(body["Item"]["photo"]["B"]) == PHOTO


def test_installed_for_dynamodb_only() -> None:
    before = dict(serialize.SERVICE_SPECIFIC_SERIALIZERS)
    try:
        install()
        assert serialize.get_serializer_class("dynamodb", "json") is DynamoJSONSerializer
        assert serialize.get_serializer_class("secretsmanager", "json") is JSONSerializer
    finally:
        serialize.SERVICE_SPECIFIC_SERIALIZERS.clear()
        serialize.SERVICE_SPECIFIC_SERIALIZERS.update(before)
