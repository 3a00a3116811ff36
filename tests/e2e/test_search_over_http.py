"""Missing-person search over real HTTP on the local platform: POST → API-owned process pool runs the
shard handler → S3 done markers → SQS → event pump → reducer → GET shows hits and the route."""

from __future__ import annotations

import time
from datetime import timedelta
from http import HTTPStatus
from typing import Any

import numpy as np
import pytest
from client_support import authenticated
from golden_time_api_client.api.searches import get_search, start_search
from golden_time_api_client.models import Error, SearchRequest, SearchStatus
from search_support import MODELS, VIDEO, png_base64, write_clip

from chalicelib.adapters.resources import Resources
from chalicelib.cli import create_principal
from chalicelib.models.camera import Camera, CameraKind
from chalicelib.models.common import instant
from chalicelib.models.principal import PrincipalKind
from chalicelib.services.audit import AuditLog
from chalicelib.services.footage import FootageCatalog
from chalicelib.settings import get_settings
from local.http_client import session_from

pytestmark = [pytest.mark.e2e, pytest.mark.shared,
              pytest.mark.skipif(not VIDEO.exists() or not MODELS.exists(),
                                 reason="needs ../shared/data/video/vtest.avi and ../shared/models")]
LAT, LON = 37.5700, 126.9900


@pytest.fixture(scope="module")
def setup(local_platform, tmp_path_factory):
    resources = Resources(get_settings())
    tokens = {}
    for kind, pid in ((PrincipalKind.OPERATOR, "e2e-search-op"), (PrincipalKind.OPERATOR, "e2e-search-op2"),
                      (PrincipalKind.APP, "e2e-search-app")):
        _, tokens[pid] = create_principal(kind, pid, principal_id=pid, resources=resources)
    # Camera rows only (the nearest-neighbour snapshot belongs to the other e2e tests): searched by id.
    resources.table("cameras").put_many([Camera(camera_id=cid, kind=CameraKind.CRIME_PREVENTION, district="Jung-gu",
                                                lat=LAT + dlat, lon=LON).model_dump(mode="json", exclude_none=True)
                                         for cid, dlat in (("E2E-SEARCH-1", 0.0), ("E2E-SEARCH-2", 0.0005))])
    settings = get_settings()
    footage = FootageCatalog.from_settings(resources.store("footage"), resources.table("footage"), settings,
                                           preset="ultrafast")
    clip = write_clip(tmp_path_factory.mktemp("search") / "clip.avi", 220, 40)  # B (red jacket) walking
    seen = int(time.time() * 1000) - 300_000
    footage.ingest("E2E-SEARCH-1", clip, start_ms=seen + 2_000)
    footage.ingest("E2E-SEARCH-2", clip, start_ms=seen + 60_000)
    return {"tokens": tokens, "seen": seen}


def _wait_done(client, search_id: str, timeout_s: float = 90.0):
    deadline = time.monotonic() + timeout_s
    progress = []
    while time.monotonic() < deadline:
        reply = get_search.sync_detailed(search_id, client=client)
        assert reply.status_code == HTTPStatus.OK, reply.content
        progress.append(reply.parsed.shards_done)
        if reply.parsed.status != SearchStatus.RUNNING:
            return reply.parsed
        time.sleep(0.2)
    raise AssertionError(f"search {search_id} still running after {timeout_s} s (progress {progress[-5:]})")


def _request(setup, **change: Any) -> dict[str, Any]:
    return {"upper_color": "red",
            "last_seen": {"location": {"lat": LAT, "lon": LON}, "at": instant(setup["seen"]).isoformat()}, **change}


def test_colour_search_over_http_finds_the_red_jacket(local_platform, setup):
    op = authenticated(local_platform.api_url, setup["tokens"]["e2e-search-op"])
    # GIVEN an operator looking for someone in a red jacket last seen at camera 1
    body = SearchRequest.from_dict(_request(setup, window_minutes=3, camera_ids=["E2E-SEARCH-1", "E2E-SEARCH-2"],
                                            top_k=5))
    # WHEN the search is posted
    reply = start_search.sync_detailed(client=op, body=body)
    # THEN it is accepted and running over both cameras
    assert reply.status_code == HTTPStatus.ACCEPTED, reply.content
    started = reply.parsed
    assert started.status == SearchStatus.RUNNING and sorted(started.cameras) == ["E2E-SEARCH-1", "E2E-SEARCH-2"]
    assert started.search_id.startswith("srch-") and started.created_at.utcoffset() == timedelta(hours=9)
    assert started.footage_seconds_total == pytest.approx(8.0, abs=0.5)
    # AND it completes through the pool, the done notifications and the reducer
    done = _wait_done(op, started.search_id)
    assert done.status == SearchStatus.DONE, done.to_dict()
    assert done.shards_done == done.shards_total and done.footage_seconds_done == done.footage_seconds_total
    assert done.hits and done.hits[0].best.color >= 0.5  # red shoulders over a navy body
    assert {h.camera_id for h in done.hits} == {"E2E-SEARCH-1", "E2E-SEARCH-2"}
    assert [stop.camera_id for stop in done.route] == ["E2E-SEARCH-1", "E2E-SEARCH-2"]
    assert done.route[0].location.to_dict() == {"lat": LAT, "lon": LON, "accuracy_m": None}  # camera 1's place
    assert "thumbnail_key" not in done.hits[0].best.to_dict()  # the bucket key stays inside
    # the thumbnail is a presigned S3 URL: not our API
    thumb = session_from().get(done.hits[0].best.thumbnail_url, timeout=10)
    assert thumb.status_code == 200 and thumb.content[:3] == b"\xff\xd8\xff"
    # AND the search is in the audit log with who asked, from where, and over which cameras
    audit = [r for r in AuditLog(Resources(get_settings()).table("audit")).records(since_ms=setup["seen"])
             if r.action == "search.start" and r.subject == started.search_id]
    assert len(audit) == 1 and audit[0].actor == "e2e-search-op" and audit[0].source_ip == "127.0.0.1"
    assert audit[0].details["cameras"] == ",".join(started.cameras)
    # AND another operator gets 404 for it, an app principal 403
    other = authenticated(local_platform.api_url, setup["tokens"]["e2e-search-op2"])
    assert get_search.sync_detailed(started.search_id, client=other).status_code == HTTPStatus.NOT_FOUND
    app = authenticated(local_platform.api_url, setup["tokens"]["e2e-search-app"])
    assert get_search.sync_detailed(started.search_id, client=app).status_code == HTTPStatus.FORBIDDEN


@pytest.mark.parametrize(("change", "status", "fragment"), [
    ({"photos": ["bm90IGFuIGltYWdl"]}, 422, "not a JPEG or PNG"),
    ({"photos": [png_base64(np.full((160, 90, 3), 128, np.uint8))]}, 422, "no person found"),
    ({"upper_color": None}, 422, "at least one photo or a clothing colour"),
    ({"window_minutes": 100_000}, 422, "window_minutes"),
    ({"last_seen": {"location": {"lat": LAT, "lon": LON}, "at": instant(1_000).isoformat()}}, 422, "retention"),
])
def test_bad_search_requests_get_4xx_with_the_reason(local_platform, setup, change, status, fragment):
    body = SearchRequest.from_dict(_request(setup, camera_ids=["E2E-SEARCH-1"], **change))
    reply = start_search.sync_detailed(client=authenticated(local_platform.api_url, setup["tokens"]["e2e-search-op"]),
                                       body=body)
    assert reply.status_code == status, reply.content
    assert isinstance(reply.parsed, Error) and fragment in reply.parsed.error.message


@pytest.mark.parametrize(("change", "status", "fragment"), [
    ({"upper_color": "teal"}, 422, "upper_color"),
    ({"last_seen": {"lat": LAT, "lon": LON, "time_ms": 1_000}}, 422, "location"),  # the former flat shape
])
def test_requests_the_typed_client_cannot_express_get_4xx_with_the_reason(local_platform, setup, change, status,
                                                                          fragment):
    # raw HTTP: a colour outside the enum and the former flat shape have no typed form
    reply = session_from(token=setup["tokens"]["e2e-search-op"]).post(
        f"{local_platform.api_url}/v1/searches", json=_request(setup, camera_ids=["E2E-SEARCH-1"], **change))
    assert reply.status_code == status, reply.text
    assert fragment in reply.json()["error"]["message"]
