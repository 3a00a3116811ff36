"""X-ray studies over real HTTP on the local platform: create, upload through the presigned POST,
S3 → SQS → reader through the event pump, poll until done; owner scoping and errors."""

from __future__ import annotations

import time
from http import HTTPStatus

import pytest
import requests
from client_support import authenticated
from golden_time_api_client.api.xray import create_study, get_study
from golden_time_api_client.models import Error, StudyCreate, StudyStatus
from xray_support import colour_photo_jpeg, png_bytes, real_images, synthetic_chest

from chalicelib.adapters.resources import Resources
from chalicelib.cli import create_principal
from chalicelib.models.principal import PrincipalKind
from chalicelib.settings import get_settings
from local.http_client import session_from

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def tokens(local_platform):
    resources = Resources(get_settings())
    made = {}
    for kind, pid in ((PrincipalKind.HEALTH_CENTER, "e2e-hc-jongno"), (PrincipalKind.HEALTH_CENTER, "e2e-hc-mapo"),
                      (PrincipalKind.APP, "e2e-xray-app")):
        _, made[pid] = create_principal(kind, pid, principal_id=pid, resources=resources)
    return made


def center(local_platform, token: str):
    """The generated client (tests/client_support.py), as the center holding ``token``."""
    return authenticated(local_platform.api_url, token)


def submit(local_platform, token: str, filename: str, data: bytes) -> tuple[str, float]:
    created = create_study.sync_detailed(client=center(local_platform, token), body=StudyCreate(filename=filename))
    assert created.status_code == HTTPStatus.CREATED, created.content
    body = created.parsed
    assert body.status == StudyStatus.PENDING
    form = body.upload
    assert form.max_bytes == 50 * 1024 * 1024
    assert form.key.startswith("uploads/e2e-hc-jongno/" if "jongno" in token else "uploads/")
    started = time.monotonic()
    # the presigned POST goes to S3: not our API
    uploaded = requests.post(form.url, data=form.fields.to_dict(), files={"file": (filename, data)}, timeout=10)
    assert uploaded.status_code in (200, 201, 204), uploaded.text
    return body.study_id, started


def wait_for(local_platform, token: str, study_id: str, timeout_s: float = 20.0):
    client = center(local_platform, token)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        reply = get_study.sync_detailed(study_id, client=client)
        assert reply.status_code == HTTPStatus.OK, reply.content
        if reply.parsed.status != StudyStatus.PENDING:
            return reply.parsed
        time.sleep(0.05)
    raise AssertionError(f"study {study_id} still pending after {timeout_s} s")


def test_upload_to_reading_over_http(local_platform, tokens):
    # GIVEN a health center with a real chest film (or a generated one when ../shared is absent)
    token = tokens["e2e-hc-jongno"]
    films = [p for p in real_images() if p.suffix in {".dcm", ".png"}]
    filename, data = (films[0].name, films[0].read_bytes()) if films else ("gen.png", png_bytes(synthetic_chest(512)))
    # WHEN it creates a study, uploads through the presigned POST and polls
    study_id, started = submit(local_platform, token, filename, data)
    study = wait_for(local_platform, token, study_id)
    elapsed = time.monotonic() - started
    # THEN the reading is there, with links that work
    assert study.status == StudyStatus.DONE, study.to_dict()
    reading = study.reading
    assert reading.model.to_dict() == {"name": "gt-reference-cxr", "version": "1.0.0", "clinical": False,
                                       "providers": ["CPUExecutionProvider"]}
    assert reading.triage.value in {"normal", "abnormal", "urgent"}
    assert {f.label for f in reading.findings} == {"opacity", "asymmetry", "cardiac_silhouette"}
    assert set(reading.timings.to_dict()) >= {"queue_wait_ms", "decode_ms", "preprocess_ms", "inference_ms",
                                              "total_ms"}
    # AND the heat map follows as the step after the reading
    while study.links.heatmap is None and time.monotonic() - started < 15:
        time.sleep(0.05)
        study = wait_for(local_platform, token, study_id)
    assert study.reading.heatmap_method.startswith("occlusion sensitivity")
    # the links are presigned S3 GETs: not our API
    heatmap = requests.get(study.links.heatmap, timeout=10)
    report = requests.get(study.links.report, timeout=10)
    assert heatmap.content.startswith(b"\x89PNG")
    assert report.json()["study_id"] == study_id
    assert elapsed < 15


def test_a_colour_photo_is_rejected_with_its_reason_over_http(local_platform, tokens):
    token = tokens["e2e-hc-jongno"]
    study_id, _ = submit(local_platform, token, "holiday.jpg", colour_photo_jpeg())
    study = wait_for(local_platform, token, study_id)
    assert study.status == StudyStatus.REJECTED
    assert study.reason.code == "colour_photo"
    assert study.reading is None


def test_only_the_owning_center_sees_a_study(local_platform, tokens):
    study_id, _ = submit(local_platform, tokens["e2e-hc-jongno"], "image.png", png_bytes(synthetic_chest(512)))
    other = get_study.sync_detailed(study_id, client=center(local_platform, tokens["e2e-hc-mapo"]))
    assert other.status_code == HTTPStatus.NOT_FOUND
    assert isinstance(other.parsed, Error) and other.parsed.error.code == "not_found"
    app = get_study.sync_detailed(study_id, client=center(local_platform, tokens["e2e-xray-app"]))
    assert app.status_code == HTTPStatus.FORBIDDEN


@pytest.mark.parametrize("filename", ["notes.txt", "a/b.png"])
def test_bad_study_requests_are_4xx(local_platform, tokens, filename):
    reply = create_study.sync_detailed(client=center(local_platform, tokens["e2e-hc-jongno"]),
                                       body=StudyCreate(filename=filename))
    assert reply.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert isinstance(reply.parsed, Error) and reply.parsed.error.message


def test_an_unknown_field_is_422(local_platform, tokens):
    # raw HTTP: the typed model has no place for an unknown field
    reply = session_from(token=tokens["e2e-hc-jongno"]).post(f"{local_platform.api_url}/v1/xray/studies",
                                                             json={"extra": 1})
    assert reply.status_code == 422
    assert reply.json()["error"]["message"]
