"""The search indexer function on real footage: stored segments → index records, and the same detector pass
feeds the camera's monitoring rules (vtest.avi's lawn, where a couple walks on at 50.5 s)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import s3_sqs_event
from monitor_support import lawn_rules
from search_support import MODELS, VIDEO, vtest_segments

from chalicelib.models.selective_monitor import CameraRules
from chalicelib.services.search.stages import Stages, load_stages
from chalicelib.services.search_index.parquet import decode
from chalicelib.services.search_index.records import INDEX_PREFIX
from chalicelib.services.selective_monitor import CameraStateStore
from chalicelib.settings import get_settings
from chalicelib.video.colors import COLOR_NAMES
from chalicelib.wiring import search as search_wiring
from chalicelib.wiring.selective_monitor import build_monitoring
from functions.search_indexer import handler
from local.lambda_runtime import LambdaContext

pytestmark = [pytest.mark.shared,
              pytest.mark.skipif(not VIDEO.exists() or not MODELS.exists(),
                                 reason="needs ../shared/data/video/vtest.avi and ../shared/models")]
CAMERA = "CAM-LAWN"
T0 = 1_763_798_400_000  # an hour boundary: vtest's 0 s


class CountingDetector:
    """The real detector; counts the frames it is asked to analyse (to prove there is one pass)."""

    def __init__(self, detector) -> None:
        self._detector = detector
        self.name, self.labels = detector.name, detector.labels
        self.frames = 0

    def detect(self, frames):
        self.frames += len(frames)
        return self._detector.detect(frames)


@pytest.fixture
def indexer(aws, monkeypatch):
    loaded = load_stages(None)
    counting = CountingDetector(loaded.detector)
    monkeypatch.setenv("SEARCH_INDEX_ON_INGEST", "true")
    get_settings.cache_clear()
    monkeypatch.setattr(search_wiring, "model_stages", lambda resources, threads=None: Stages(
        counting, loaded.embedder, loaded.embedder_version))
    for cached in (handler.resources, handler.indexing, handler.monitor):
        cached.cache_clear()
    build_monitoring(aws).rules.put(CAMERA, CameraRules.model_validate(lawn_rules()), by="operator-1", now_ms=T0)
    yield counting
    for cached in (handler.resources, handler.indexing, handler.monitor):
        cached.cache_clear()
    get_settings.cache_clear()


def _store_segments(aws, starts_s):
    footage = aws.store("footage")
    objects = []
    for start_ms, data, _ in vtest_segments():
        if start_ms // 1000 in starts_s:
            key = f"footage/{CAMERA}/{T0 + start_ms}.ts"
            footage.put(key, data, content_type="video/mp2t")
            objects.append({"bucket": footage.name, "key": key, "etag": "0" * 32, "size": len(data)})
    return objects


def test_stored_segments_become_track_records_and_monitoring_events_from_one_detector_pass(aws, indexer):
    # GIVEN two stored 10 s segments of the lawn camera (40-60 s: a couple walks onto the lawn at 50.5 s)
    objects = _store_segments(aws, {40, 50})
    event = s3_sqs_event(objects, template="s3_sqs/monitor_clip.json")

    # WHEN their S3 notifications reach the indexer
    response = handler.lambda_handler(event, LambdaContext(function_name="search-indexer"))

    # THEN both are indexed: one part per segment, each track with a unit re-id embedding, colour shares,
    # a box path inside the segment and a JPEG thumbnail beside the footage
    assert response == {"batchItemFailures": []}
    footage = aws.store("footage")
    parts = sorted(k for k in footage.keys(f"{INDEX_PREFIX}/") if k.endswith(".parquet"))
    assert len(parts) == 2 and all(f"/{CAMERA}/" in k for k in parts)
    records = [p.record(i) for p in map(decode, map(footage.get, parts)) for i in range(len(p))]
    assert len(records) >= 4
    for record in records:
        assert record.embedding.shape == (512,) and abs(float(np.linalg.norm(record.embedding)) - 1) < 0.01
        assert abs(sum(record.upper) - 1) < 0.02 and abs(sum(record.lower) - 1) < 0.02
        assert len(record.upper) == len(COLOR_NAMES)
        assert record.segment_start_ms <= record.start_ms <= record.end_ms < record.segment_start_ms + 10_000
        assert all(record.start_ms <= t <= record.end_ms for t, *_ in record.path)
        assert footage.get(record.thumbnail_key)[:3] == b"\xff\xd8\xff"
    assert {decode(footage.get(k)).tag.name for k in parts} == {"osnet"}

    # AND the detector ran once per sampled frame (2 fps × 20 s), no second time for monitoring
    assert indexer.frames == 40
    # AND monitoring evaluated those same frames: the camera's state covers them and the couple raised the
    # lawn intrusion
    state, _ = CameraStateStore(aws.table("records")).load(CAMERA)
    assert state.last_frame_ms == T0 + 59_500
    events = build_monitoring(aws).events.queue(now_ms=T0 + 3_600_000)
    assert any(e.rule_id == "lawn" for e in events), events


def test_indexing_off_acknowledges_segments_without_analysing_them(aws, indexer, monkeypatch):
    monkeypatch.setenv("SEARCH_INDEX_ON_INGEST", "false")
    get_settings.cache_clear()
    objects = _store_segments(aws, {0})
    response = handler.lambda_handler(s3_sqs_event(objects, template="s3_sqs/monitor_clip.json"),
                                      LambdaContext(function_name="search-indexer"))
    assert response == {"batchItemFailures": []}
    assert indexer.frames == 0 and not list(aws.store("footage").keys(f"{INDEX_PREFIX}/"))
