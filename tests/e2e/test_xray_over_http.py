"""X-ray studies over real HTTP on the local platform: create, upload through the presigned POST,
S3 → SQS → reader through the event pump, poll until done; owner scoping and errors."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests
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


def submit(local_platform, token: str, filename: str, data: bytes) -> tuple[str, float]:
    center = session_from(token=token)
    created = center.post(f"{local_platform.api_url}/v1/xray/studies", json={"filename": filename})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["status"] == "pending"
    form = body["upload"]
    assert form["max_bytes"] == 50 * 1024 * 1024
    assert form["key"].startswith("uploads/e2e-hc-jongno/" if "jongno" in token else "uploads/")
    started = time.monotonic()
    uploaded = requests.post(form["url"], data=form["fields"], files={"file": (filename, data)}, timeout=10)
    assert uploaded.status_code in (200, 201, 204), uploaded.text
    return body["study_id"], started


def wait_for(local_platform, token: str, study_id: str, timeout_s: float = 20.0) -> dict[str, Any]:
    center = session_from(token=token)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        reply = center.get(f"{local_platform.api_url}/v1/xray/studies/{study_id}")
        assert reply.status_code == 200, reply.text
        if reply.json()["status"] != "pending":
            return dict(reply.json())
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
    assert study["status"] == "done", study
    reading = study["reading"]
    assert reading["model"] == {"name": "gt-reference-cxr", "version": "1.0.0", "clinical": False,
                                "providers": ["CPUExecutionProvider"]}
    assert reading["triage"] in {"normal", "abnormal", "urgent"}
    assert {f["label"] for f in reading["findings"]} == {"opacity", "asymmetry", "cardiac_silhouette"}
    assert set(reading["timings"]) >= {"queue_wait_ms", "decode_ms", "preprocess_ms", "inference_ms", "total_ms"}
    # AND the heat map follows as the step after the reading
    while study["links"]["heatmap"] is None and time.monotonic() - started < 15:
        time.sleep(0.05)
        study = wait_for(local_platform, token, study_id)
    assert study["reading"]["heatmap_method"].startswith("occlusion sensitivity")
    heatmap = requests.get(study["links"]["heatmap"], timeout=10)
    report = requests.get(study["links"]["report"], timeout=10)
    assert heatmap.content.startswith(b"\x89PNG")
    assert report.json()["study_id"] == study_id
    assert elapsed < 15


def test_a_colour_photo_is_rejected_with_its_reason_over_http(local_platform, tokens):
    token = tokens["e2e-hc-jongno"]
    study_id, _ = submit(local_platform, token, "holiday.jpg", colour_photo_jpeg())
    study = wait_for(local_platform, token, study_id)
    assert study["status"] == "rejected"
    assert study["reason"]["code"] == "colour_photo"
    assert study["reading"] is None


def test_only_the_owning_center_sees_a_study(local_platform, tokens):
    study_id, _ = submit(local_platform, tokens["e2e-hc-jongno"], "image.png", png_bytes(synthetic_chest(512)))
    other = session_from(token=tokens["e2e-hc-mapo"]).get(f"{local_platform.api_url}/v1/xray/studies/{study_id}")
    assert other.status_code == 404
    assert other.json()["error"]["code"] == "not_found"
    app = session_from(token=tokens["e2e-xray-app"]).get(f"{local_platform.api_url}/v1/xray/studies/{study_id}")
    assert app.status_code == 403


@pytest.mark.parametrize(("body", "status"), [({"filename": "notes.txt"}, 422), ({"filename": "a/b.png"}, 422),
                                              ({"extra": 1}, 422)])
def test_bad_study_requests_are_4xx(local_platform, tokens, body, status):
    reply = session_from(token=tokens["e2e-hc-jongno"]).post(f"{local_platform.api_url}/v1/xray/studies", json=body)
    assert reply.status_code == status
    assert reply.json()["error"]["message"]
