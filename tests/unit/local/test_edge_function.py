"""The viewer-request CloudFront Function (edge/viewer-request.js) run under Node, as deployed.

GIVEN the exact JavaScript CDK associates with the distribution and a KeyValueStore of revoked
link ids, WHEN viewer-request events (CloudFront Functions event structure 1.0) arrive, THEN
allowed requests pass unchanged and revoked, malformed or link-less agency requests get a 403
response; a store failure fails closed.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from local.edge_function import ViewerRequestFunction, viewer_request_event

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed (make installs it)")
LINK = "vl-0123456789abcdef"
REVOKED = "vl-fedcba9876543210"


class _Store:
    def __init__(self) -> None:
        self.values = {REVOKED: "revoked by the agency"}
        self.asked: list[str] = []
        self.down = False

    def get(self, key: str) -> str | None:
        self.asked.append(key)
        if self.down:
            raise ConnectionError("store unreachable")
        return self.values.get(key)


@pytest.fixture(scope="module")
def store() -> _Store:
    return _Store()


@pytest.fixture(scope="module")
def function(store: _Store) -> Iterator[ViewerRequestFunction]:
    host = ViewerRequestFunction(store)
    yield host
    host.close()


def _event(target: str) -> dict[str, Any]:
    return viewer_request_event("GET", target, "127.0.0.2", {"Host": "d111111abcdef8.cloudfront.net"})


def test_an_active_link_passes_unchanged(function, store):
    event = _event(f"/footage/footage/CAM-1/1.ts?link={LINK}&Policy=p&Signature=s&Key-Pair-Id=K")

    result = function(event)

    assert result.response is None and result.request is not None
    forwarded = result.request
    assert forwarded["headers"].pop("x-edge-host") == {"value": "d111111abcdef8.cloudfront.net"}
    assert forwarded == event["request"]  # otherwise unchanged
    assert store.asked[-1] == LINK


def test_a_revoked_link_is_refused_from_the_next_request(function, store):
    assert function(_event(f"/live/CAM-1/index.m3u8?link={LINK}&since=1")).response is None
    store.values[LINK] = "incident closed"
    try:
        refused = function(_event(f"/live/CAM-1/index.m3u8?link={LINK}&since=1"))
    finally:
        del store.values[LINK]

    assert refused.response is not None and refused.response["statusCode"] == 403
    assert refused.refusal == "revoked: video-link request revoked"
    assert refused.response["headers"]["x-edge-link"]["value"] == LINK
    # AND a player in another origin's page (the console's hls.js) may read the refusal and its reason
    assert refused.response["headers"]["access-control-allow-origin"] == {"value": "*"}
    assert refused.response["headers"]["access-control-expose-headers"] == {"value": "x-edge-refusal"}


@pytest.mark.parametrize(("target", "reason"), [
    ("/footage/footage/CAM-1/1.ts?Policy=p", "revoked: no link named"),
    (f"/media/links/{LINK}/CAM-1/index.m3u8", "revoked: no link named"),
    (f"/footage/footage/CAM-1/1.ts?link={LINK}&link={REVOKED}", "revoked: malformed link"),
    ("/footage/footage/CAM-1/1.ts?link=../../etc", "revoked: malformed link"),
    (f"/footage/footage/CAM-1/1.ts?link={REVOKED}", "revoked: video-link request revoked"),
])
def test_agency_routes_need_one_active_link(function, target, reason):
    assert function(_event(target)).refusal == reason


def test_other_signed_media_pass_on_cloudfronts_check_alone(function):
    assert function(_event("/media/reports/x.json?Policy=p&Signature=s&Key-Pair-Id=K")).response is None


def test_an_unreachable_store_fails_closed(function, store):
    store.down = True
    try:
        result = function(_event(f"/footage/footage/CAM-1/1.ts?link={LINK}"))
    finally:
        store.down = False

    assert result.refusal == "revoked: revocation list unavailable"


def test_the_event_has_cloudfronts_shape():
    event = viewer_request_event("GET", "/a/b.ts?x=1&x=2&y=", "2001:db8::1", {"User-Agent": "hls.js"})

    assert event["version"] == "1.0" and event["context"]["eventType"] == "viewer-request"
    assert event["viewer"] == {"ip": "2001:db8::1"}
    assert event["request"]["uri"] == "/a/b.ts"
    assert event["request"]["querystring"] == {"x": {"value": "1", "multiValue": [{"value": "1"}, {"value": "2"}]},
                                               "y": {"value": ""}}
    assert event["request"]["headers"] == {"user-agent": {"value": "hls.js"}}
