"""X-ray studies on DynamoDB + S3 (moto): identity-free keys, owner scoping, the sample S3 event."""

from __future__ import annotations

import base64
import json

import pytest
from conftest import load_event

from chalicelib.errors import NotFound
from chalicelib.models.xray import StudyCreate
from chalicelib.services.xray.studies import XrayStudies, parse_upload_key
from functions.xray_reader import handler
from local.lambda_runtime import LambdaContext


def test_a_new_study_gets_a_size_capped_upload_whose_key_carries_no_file_name(aws):
    studies = XrayStudies(aws.table("records"), aws.store("xray"))
    # GIVEN a file name that names the patient
    created = studies.create("hc-jongno", StudyCreate(filename="KIM MINSU 1961-03-02 chest.DICOM"), now_ms=1_000)
    # THEN the key keeps only the extension, under the center's own prefix
    assert created.upload.key == f"uploads/hc-jongno/{created.study_id}/image.dcm"
    assert parse_upload_key(created.upload.key) == ("hc-jongno", created.study_id)
    policy = json.loads(base64.b64decode(created.upload.fields["policy"]))
    assert ["content-length-range", 1, 50 * 1024 * 1024] in policy["conditions"]
    assert {"key": created.upload.key} in policy["conditions"]
    assert "KIM" not in json.dumps(studies.get(created.study_id).model_dump())
    # AND only its center can view it
    assert studies.view(created.study_id, "hc-jongno").status == "pending"
    with pytest.raises(NotFound):
        studies.view(created.study_id, "hc-mapo")


@pytest.mark.parametrize("key", ["uploads/hc-jongno/study-0001/image.dcm", "uploads/hc-jongno/xr-0123456789abcdef/x.dcm",
                                 "deid/hc-jongno/xr-0123456789abcdef/image.dcm", "uploads/../xr-0123456789abcdef/image.png"])
def test_keys_that_are_not_study_uploads_are_not_parsed(key):
    assert parse_upload_key(key) is None


def test_the_repository_sample_event_is_acknowledged_without_a_study(aws):
    handler.runtime.cache_clear()
    try:
        response = handler.lambda_handler(load_event("s3_sqs/xray_upload.json"), LambdaContext(function_name="xray-reader"))
    finally:
        handler.runtime.cache_clear()
    assert response == {"batchItemFailures": []}


def test_a_batch_of_studies_is_read_in_one_call_with_the_same_answers_as_one_by_one(aws):
    studies = XrayStudies(aws.table("records"), aws.store("xray"))
    created = [studies.create(f"hc-{n:03d}", StudyCreate(filename="chest.png"), now_ms=1_000 + n).study_id
               for n in range(3)]
    calls: list[str] = []
    client = aws._dynamodb.meta.client  # the client behind the tables (a resource)
    client.meta.events.register("before-call.dynamodb", lambda model, **_: calls.append(model.name),
                                unique_id="count-calls")
    try:
        # WHEN the reader looks up a batch's studies, one id unknown
        found = studies.find_many([*created, "xr-0000000000000000"])
    finally:
        client.meta.events.unregister("before-call.dynamodb", unique_id="count-calls")
    # THEN each known study is there, as ``get`` reads it, the unknown one is absent, and it took one BatchGetItem
    assert sorted(found) == sorted(created)
    assert all(found[study_id] == studies.get(study_id) for study_id in created)
    assert calls == ["BatchGetItem"]
