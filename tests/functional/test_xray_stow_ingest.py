"""STOW-RS on the API (PS3.18 10.5) through the real app under moto: a multipart/related body written from RFC
2046 and PS3.18, the Store Instances Response read back with pydicom's DICOM JSON reader, failures per instance
with their PS3.18 reasons, 4xx for bodies the route must refuse, and the study read by the reader exactly like
one uploaded by presigned POST."""

from __future__ import annotations

import io
import json
import time

import pydicom
import pytest
from xray_api_support import call
from xray_support import dicom_bytes, s3_sqs_event, synthetic_chest

from chalicelib.api import context
from chalicelib.cli import create_principal
from chalicelib.models.principal import PrincipalKind
from chalicelib.models.xray import StudyCreate, StudyStatus
from chalicelib.services.xray.studies import XrayStudies
from functions.xray_reader import handler
from local.lambda_runtime import LambdaContext

ROUTE = "/v1/xray/dicomweb/studies"
BOUNDARY = "Boundary-7c1e"  # RFC 2046 5.1.1: 1-70 characters, not occurring in the parts


def multipart(*parts: bytes, part_type: str = "application/dicom") -> bytes:
    body = b"preamble, ignored by the receiver\r\n"
    for part in parts:
        body += f"--{BOUNDARY}\r\nContent-Type: {part_type}\r\n\r\n".encode() + part + b"\r\n"
    return body + f"--{BOUNDARY}--\r\nepilogue\r\n".encode()


CONTENT_TYPE = f'multipart/related; type="application/dicom"; boundary="{BOUNDARY}"'


@pytest.fixture
def center(aws):
    context.reset_platform()
    handler.runtime.cache_clear()
    _, token = create_principal(PrincipalKind.HEALTH_CENTER, "Mapo", principal_id="hc-mapo", resources=aws)
    yield token
    handler.runtime.cache_clear()
    context.reset_platform()


def stow(token: str, body: bytes, content_type: str = CONTENT_TYPE):
    return call("POST", ROUTE, token, body=body, headers=[("Content-Type", content_type),
                                                         ("Accept", "application/dicom+json")])


def read(aws, key: str):
    """The reader's answer to the S3 notification of ``key`` (as the bucket's event would deliver it)."""
    head = aws.client("s3").head_object(Bucket=aws.store("xray").name, Key=key)
    obj = {"bucket": aws.store("xray").name, "key": key, "etag": head["ETag"].strip('"'),
           "version_id": head.get("VersionId"), "size": head["ContentLength"]}
    return handler.lambda_handler(s3_sqs_event([obj], sent_ms=int(time.time() * 1000)),
                                  LambdaContext(function_name="xray-reader"))


def test_a_stow_rs_instance_is_read_like_a_presigned_upload(aws, center):
    data = dicom_bytes(synthetic_chest(256, seed=3))
    sent = pydicom.dcmread(io.BytesIO(data))
    # WHEN the center's PACS stores the instance by STOW-RS
    status, headers, body = stow(center, multipart(data))
    # THEN 200 with a Store Instances Response naming the instance and where its study is
    assert status == 200, body
    assert headers["Content-Type"] == "application/dicom+json"
    answer = pydicom.Dataset.from_json(body)
    assert "FailedSOPSequence" not in answer
    (item,) = answer.ReferencedSOPSequence
    assert (item.ReferencedSOPClassUID, item.ReferencedSOPInstanceUID) == (sent.SOPClassUID, sent.SOPInstanceUID)
    study_id = item.RetrieveURL.rsplit("/", 1)[-1]
    status, _, view = call("GET", f"/v1/xray/studies/{study_id}", center, resource="/v1/xray/studies/{study_id}",
                           path_parameters={"study_id": study_id})
    assert status == 200 and view["status"] == "pending"

    # AND the same file uploaded the presigned way for another study
    studies = XrayStudies(aws.table("records"), aws.store("xray"))
    created = studies.create("hc-mapo", StudyCreate(filename="chest.dcm"), now_ms=int(time.time() * 1000))
    aws.store("xray").put(created.upload.key, data)
    # WHEN the reader gets both notifications
    for key in (studies.get(study_id).upload_key, created.upload.key):
        assert read(aws, key) == {"batchItemFailures": []}
    # THEN both are read, de-identified, with the same findings
    by_stow, by_post = studies.get(study_id), studies.get(created.study_id)
    assert by_stow.status is by_post.status is StudyStatus.DONE
    assert by_stow.reading is not None and by_post.reading is not None
    assert by_stow.reading.findings == by_post.reading.findings
    assert by_stow.reading.deid_key is not None
    deid = pydicom.dcmread(io.BytesIO(aws.store("xray").get(by_stow.reading.deid_key)))
    assert str(deid.PatientName) != str(sent.PatientName)


def test_the_same_instance_again_answers_the_study_it_made(aws, center):
    data = dicom_bytes(synthetic_chest(128, seed=4))
    first = pydicom.Dataset.from_json(stow(center, multipart(data))[2]).ReferencedSOPSequence[0].RetrieveURL
    status, _, body = stow(center, multipart(data))
    assert status == 200
    assert pydicom.Dataset.from_json(body).ReferencedSOPSequence[0].RetrieveURL == first
    status, _, listed = call("GET", "/v1/xray/studies", center)
    assert [s["study_id"] for s in listed["studies"]] == [first.rsplit("/", 1)[-1]]


def test_refused_instances_are_listed_with_their_ps318_reasons(aws, center):
    good = dicom_bytes(synthetic_chest(128, seed=5))
    report = pydicom.dcmread(io.BytesIO(good))
    report.SOPClassUID = report.file_meta.MediaStorageSOPClassUID = pydicom.uid.UID("1.2.840.10008.5.1.4.1.1.88.33")
    buffer = io.BytesIO()
    report.save_as(buffer, enforce_file_format=True)
    huge = pydicom.dcmread(io.BytesIO(dicom_bytes(synthetic_chest(64, seed=6))))
    huge.Rows = huge.Columns = 20_000  # claims 400 megapixels
    huge_buffer = io.BytesIO()
    huge.save_as(huge_buffer, enforce_file_format=True)
    # WHEN one good instance comes with an SR, a claimed 20000x20000 image and bytes that are no DICOM
    status, headers, body = stow(center, multipart(good, buffer.getvalue(), huge_buffer.getvalue(), b"not dicom"))
    # THEN 202: the good one stored, each other failed with its reason (PS3.18 table 10.5.3-2), said in words
    assert status == 202
    answer = pydicom.Dataset.from_json(body)
    assert len(answer.ReferencedSOPSequence) == 1
    reasons = {(str(i.get("ReferencedSOPInstanceUID", "")), int(i.FailureReason)) for i in answer.FailedSOPSequence}
    assert reasons == {(str(report.SOPInstanceUID), 0x0122), (str(huge.SOPInstanceUID), 0xA700), ("", 0xC000)}
    assert headers["Warning"].startswith("299 ") and "not a radiograph" in headers["Warning"]
    # AND nothing acceptable at all is a 409
    status, _, body = stow(center, multipart(b"not dicom"))
    assert status == 409 and pydicom.Dataset.from_json(body).FailedSOPSequence[0].FailureReason == 0xC000


@pytest.mark.parametrize(("content_type", "body", "expected"), [
    ("application/dicom", b"x", 415),
    ('multipart/related; type="application/dicom+json"; boundary=b', b"--b\r\n\r\n{}\r\n--b--", 415),
    ('multipart/related; type="application/dicom"', b"--b\r\n\r\nx\r\n--b--", 400),
    (CONTENT_TYPE, multipart(b"x").split(f"--{BOUNDARY}--".encode())[0], 400),  # no close delimiter
    (CONTENT_TYPE, multipart(b"x", part_type="image/png"), 415),
    (CONTENT_TYPE, multipart(), 400),
    (CONTENT_TYPE, multipart(b"\0" * (4 * 1024 * 1024 + 1)), 413),
    (CONTENT_TYPE, multipart(*[b"x"] * 17), 413),
])
def test_bodies_stow_rs_must_refuse_get_a_4xx_with_a_reason(aws, center, content_type, body, expected):
    status, _, answer = stow(center, body, content_type)
    assert status == expected
    assert answer["error"]["message"]
    assert not list(aws.store("xray").keys("uploads/"))


def test_only_health_centers_store(aws, center):
    _, operator = create_principal(PrincipalKind.OPERATOR, "Op", principal_id="operator-1", resources=aws)
    status, _, answer = stow(operator, multipart(dicom_bytes(synthetic_chest(64, seed=1))))
    assert status == 403 and json.dumps(answer).count("forbidden") == 1


@pytest.mark.parametrize("content_type", [
    "", ";;;", 'multipart/related; type="application/dicom"; boundary=""',
    "multipart/related; type=application/dicom; boundary=" + "b" * 71,
    "multipart/related; type*=utf-8''%ff%fe; boundary=b", 'multipart/related; type="application/dicom"; boundary*0=',
])
def test_hostile_content_types_are_4xx_never_500(aws, center, content_type):
    status, _, answer = stow(center, b"--b\r\n\r\nx\r\n--b--", content_type)
    assert 400 <= status < 500 and answer["error"]["message"], (content_type, status, answer)


def test_hostile_dicom_bytes_are_failed_instances_never_500(aws, center):
    good = dicom_bytes(synthetic_chest(64, seed=8))
    # truncated inside the header, a header element's length lying, random bytes behind a DICM preamble
    hostile = [good[:200], good[:132] + b"\x02\x00\x10\x00UI\xff\xff" + good[140:], b"\0" * 128 + b"DICM" + b"\xff" * 64]
    status, _, body = stow(center, multipart(*hostile))
    assert status == 409
    assert [int(i.FailureReason) for i in pydicom.Dataset.from_json(body).FailedSOPSequence] == [0xC000] * 3
