"""X-ray studies on DynamoDB + S3 (moto): identity-free keys, owner scoping, the sample S3 event."""

from __future__ import annotations

import base64
import json

import pytest
from conftest import load_event

from chalicelib.errors import NotFound
from chalicelib.models.xray import StudyCreate
from chalicelib.services.xray import XrayStudies, parse_upload_key
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
