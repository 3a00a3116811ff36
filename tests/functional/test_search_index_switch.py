"""An operator keeps a camera out of the search index (privacy zone, broken camera) through the real app on moto;
the indexer writes nothing for it and a search reads none of its records, decodes it and names it."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from chalice.test import Client
from search_support import VIDEO, write_clip

from chalicelib.api import context
from chalicelib.cli import create_principal
from chalicelib.models.camera import Camera, CameraKind
from chalicelib.models.principal import PrincipalKind
from chalicelib.models.search import PlannedCamera, SearchPlan, SearchQuery, ShardItem
from chalicelib.services.cameras import CameraRegistry
from chalicelib.services.search.indexed import split_plan
from chalicelib.services.search_index.indexer import SegmentIndexer, SegmentIndexing
from chalicelib.services.search_index.records import HOUR_MS, INDEX_PREFIX, ModelTag, TrackRecord, hour_prefix
from chalicelib.services.search_index.switch import IndexSwitches
from chalicelib.video.colors import COLOR_NAMES
from chalicelib.video.segmenter import iter_segments
from chalicelib.wiring.search import index_store, index_switches

T0 = 1_800_000_000_000 - 1_800_000_000_000 % HOUR_MS
TAG = ModelTag("osnet", "test")


@pytest.fixture
def api(aws) -> Any:
    context.reset_platform()
    _, operator = create_principal(PrincipalKind.OPERATOR, "Operator", principal_id="operator-switch", resources=aws)
    _, phone = create_principal(PrincipalKind.APP, "Phone", principal_id="app-switch", resources=aws)
    CameraRegistry(aws.table("cameras"), aws.store("media"), index_key="indexes/cameras.npz").load_catalog([
        Camera(camera_id=c, kind=CameraKind.CRIME_PREVENTION, district="Jung-gu", lat=37.5666, lon=126.9781)
        for c in ("ALLEY", "GATE")])
    from app import app

    with Client(app) as client:
        yield client, operator, phone
    context.reset_platform()


def call(api: Any, method: str, path: str, token: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    client = api[0]
    reply = client.http.request(method=method, path=path, body=json.dumps(body).encode() if body else b"",
                                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    return reply.status_code, json.loads(reply.body) if reply.body else None


def test_an_operator_turns_a_cameras_indexing_off_and_on_again(api, aws):
    operator = api[1]
    # WHEN an operator turns ALLEY's indexing off, with a reason
    status, state = call(api, "PUT", "/v1/search-index/cameras/ALLEY", operator,
                         {"indexing": False, "reason": "privacy zone: school entrance"})
    # THEN it is off, listed with its reason and an RFC 3339 time, and the indexer sees it off
    assert status == 200 and state["indexing"] is False and state["changed_at"].endswith(("Z", "+00:00"))
    status, listed = call(api, "GET", "/v1/search-index/cameras", operator)
    assert status == 200 and [(c["camera_id"], c["reason"]) for c in listed["cameras"]] == [
        ("ALLEY", "privacy zone: school entrance")]
    assert index_switches(aws).is_off("ALLEY") and not index_switches(aws).is_off("GATE")
    # AND the switch is audited
    audit = aws.table("audit").scan()
    assert any(item.get("action") == "search-index.switch" and item.get("subject") == "ALLEY" for item in audit), audit
    # WHEN it is turned on again
    status, state = call(api, "PUT", "/v1/search-index/cameras/ALLEY", operator, {"indexing": True})
    assert status == 200 and state["indexing"] is True
    assert call(api, "GET", "/v1/search-index/cameras", operator) == (200, {"cameras": []})
    assert not index_switches(aws).is_off("ALLEY")


def test_only_operators_switch_and_only_cameras_of_the_catalog(api):
    _, operator, phone = api
    status, body = call(api, "PUT", "/v1/search-index/cameras/ALLEY", phone, {"indexing": False})
    assert status == 403 and set(body) == {"error"}
    status, body = call(api, "PUT", "/v1/search-index/cameras/NOPE", operator, {"indexing": False})
    assert status == 404 and body["error"]["code"]
    status, body = call(api, "PUT", "/v1/search-index/cameras/ALLEY", operator, {"indexing": "no"})
    assert status in (400, 422) and "indexing" in body["error"]["message"]


def _record(camera: str, start: int) -> TrackRecord:
    v = np.ones(8, np.float32) / np.sqrt(8)
    return TrackRecord(camera_id=camera, segment_start_ms=start, track_id=0, start_ms=start + 1_000,
                       end_ms=start + 4_000, best_ms=start + 1_000, path=((start + 1_000, 1.0, 1.0, 40.0, 120.0),),
                       embedding=v, upper=tuple(1.0 if c == "red" else 0.0 for c in COLOR_NAMES),
                       lower=tuple(1.0 if c == "black" else 0.0 for c in COLOR_NAMES),
                       thumbnail_key=f"{INDEX_PREFIX}/thumbs/{camera}/{start}/0.jpg")


def test_a_search_reads_no_record_of_a_camera_turned_off_and_decodes_it(aws):
    # GIVEN ALLEY and GATE indexed (one person each), then ALLEY turned off
    index = index_store(aws)
    for camera in ("ALLEY", "GATE"):
        index.write_segment(TAG, camera, T0, [_record(camera, T0)], dim=8)
    IndexSwitches(aws.store("footage")).set("ALLEY", indexing=False, reason="broken")
    cameras = [PlannedCamera(camera_id=c, lat=37.5, lon=127.0, distance_m=10.0, reachable_from_ms=T0,
                             footage_seconds=10.0) for c in ("ALLEY", "GATE")]
    items = [ShardItem(camera_id=c, key=f"footage/{c}/{T0}.ts", segment_start_ms=T0, from_ms=T0, to_ms=T0 + 10_000)
             for c in ("ALLEY", "GATE")]
    plan = SearchPlan(search_id="s" * 32, window_start_ms=T0, window_end_ms=T0 + 60_000, cameras=cameras,
                      shards=[items], max_speed_mps=1.6)
    query = SearchQuery(upper_color="red", min_score=0.0)
    # WHEN the search splits its plan between the index and the shards
    rest, indexed = split_plan(plan, query, index, TAG, shard_seconds=600, max_shards=4,
                               off=index_switches(aws).off())
    # THEN ALLEY's segment is decoded, GATE's answered from the index, and the coverage names ALLEY as off
    assert [i.camera_id for shard in rest.shards for i in shard] == ["ALLEY"]
    assert [h.camera_id for h in indexed.hits] == ["GATE"]
    coverage = indexed.coverage
    assert coverage.index_off_cameras == ["ALLEY"] and coverage.unindexed_cameras == ["ALLEY"]
    assert coverage.indexed_cameras == ["GATE"] and coverage.indexed_seconds == coverage.decoded_seconds == 10.0


class _NoDetector:
    name = "none"

    def detect(self, frames: list[Any]) -> list[list[Any]]:
        return [[] for _ in frames]


@pytest.mark.skipif(not VIDEO.exists(), reason="needs ../shared/data/video/vtest.avi")
def test_the_indexer_writes_nothing_for_a_camera_turned_off_but_still_feeds_monitoring(aws, tmp_path):
    # GIVEN ALLEY turned off, and a segment of it stored

    class _Embedder:
        name, dim = "osnet", 8

        def embed(self, crops: list[Any]) -> np.ndarray:
            raise AssertionError("nothing is embedded for a camera turned off")

    footage = aws.store("footage")
    clip = write_clip(tmp_path / "clip.avi", 200, 20)
    segment = next(iter(iter_segments(str(clip), segment_seconds=10.0, preset="ultrafast", start_time_s=0.0)))
    footage.put(f"footage/ALLEY/{T0}.ts", segment.data)
    switches = IndexSwitches(footage)
    switches.set("ALLEY", indexing=False, reason="privacy zone")
    indexer = SegmentIndexer(_NoDetector(), _Embedder(), ModelTag("osnet", "test"))  # type: ignore[arg-type]
    indexing = SegmentIndexing(footage, index_store(aws), indexer, switches)
    seen: list[Any] = []
    # WHEN its segment is stored and the indexer runs
    outcome = indexing.run("ALLEY", T0, f"footage/ALLEY/{T0}.ts", segment_end_ms=T0 + HOUR_MS, on_frames=seen.extend)
    # THEN nothing is written to the index, yet monitoring got the detector's frames
    assert outcome.index_off and outcome.records == [] and outcome.frames > 0 and len(seen) == outcome.frames
    assert list(footage.keys(hour_prefix(TAG, "ALLEY", T0))) == []
    assert list(footage.keys(f"{INDEX_PREFIX}/thumbs/ALLEY/")) == []
