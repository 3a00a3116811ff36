"""DynamoDB answers from the emulator without walking every attribute value through the shape model.

moto 5.2 serializes each response against botocore's output shape: for every ``AttributeValue`` of
every item it asks an alias picker for each of the ten members (S, N, B, …), under several spellings.
On the platform's hot paths (a trip record with its route and recent fixes, read and written on every
position batch) that was most of the emulator's CPU. An ``AttributeValue`` reaches the serializer
already in its wire form (``dynamo_to_dict``: ``{"S": …}``, ``{"M": {…}}``, binary as raw bytes), so
it is copied member by member here with the same rules moto's serializer applies: only the members
the shape knows, ``None`` left out, binary base64-encoded, maps and lists recursively. Everything else
in the response still goes through moto's serializer, registered the way moto registers its own
service-specific ones.
"""

from __future__ import annotations

import base64
from typing import Any

from moto.core import serialize

_ATTRIBUTE_VALUE = "AttributeValue"
_SCALARS = ("S", "N", "NULL", "BOOL")


def _b64(value: str | bytes) -> str:
    raw = value.encode("utf-8") if isinstance(value, str) else value
    return base64.b64encode(raw).strip().decode("utf-8")


def attribute_value(value: dict[str, Any]) -> dict[str, Any]:
    """One AttributeValue in wire form, as moto's JSON serializer would write it."""
    out: dict[str, Any] = {}
    for member in _SCALARS:
        scalar = value.get(member)
        if scalar is not None:
            out[member] = scalar
    if value.get("B") is not None:
        out["B"] = _b64(value["B"])
    for member in ("SS", "NS"):
        if value.get(member) is not None:
            out[member] = list(value[member])
    if value.get("BS") is not None:
        out["BS"] = [_b64(item) for item in value["BS"]]
    if value.get("M") is not None:
        out["M"] = {name: attribute_value(item) for name, item in value["M"].items()}
    if value.get("L") is not None:
        out["L"] = [attribute_value(item) for item in value["L"]]
    return out


class DynamoJSONSerializer(serialize.JSONSerializer):
    def _serialize_type_structure(self, serialized: Any, value: Any, shape: Any, key: str) -> None:
        if key and shape.name == _ATTRIBUTE_VALUE and isinstance(value, dict):
            self._default_serialize(serialized, attribute_value(value), shape, key)
            return
        super()._serialize_type_structure(serialized, value, shape, key)


def install() -> None:
    serialize.SERVICE_SPECIFIC_SERIALIZERS["dynamodb"] = {"json": DynamoJSONSerializer}
