"""S3 (footage footage/<camera>/<start ms>.ts) → SQS → search indexer: sample, detect, track and embed the people
of each stored segment into the search index; the same detections feed the camera's monitoring rules.

Re-running a segment rewrites the same index part and thumbnails (deterministic keys), and monitoring skips
frames its camera state has already seen, so a redelivered notification changes nothing. Partial batch failures.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes import S3Event
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from chalicelib.adapters.resources import Resources
from chalicelib.clock import now_ms
from chalicelib.errors import ObjectMissing, PermanentError
from chalicelib.services.search_index.indexer import DetectedFrame, SegmentIndexing
from chalicelib.services.selective_monitor import CameraStateStore, MonitorPipeline
from chalicelib.settings import get_settings
from chalicelib.wiring.search import build_segment_indexing
from chalicelib.wiring.selective_monitor import build_monitoring

logger = Logger(service="search-indexer")
metrics = Metrics(namespace="GoldenTime", service="search-indexer")
tracer = Tracer(service="search-indexer")
processor = BatchProcessor(event_type=EventType.SQS)
SEGMENT_KEY = re.compile(r"^footage/(?P<camera_id>[A-Za-z0-9._-]{1,64})/(?P<start_ms>\d{1,15})\.ts$")


@lru_cache(maxsize=1)
def resources() -> Resources:
    return Resources(get_settings())


@lru_cache(maxsize=1)
def indexing() -> SegmentIndexing:
    """Built on the first invocation (models loaded and warmed) and reused by the warm container."""
    return build_segment_indexing(resources())


@lru_cache(maxsize=1)
def monitor() -> MonitorPipeline:
    """Selective monitoring on the indexer's detector: it never detects these frames again."""
    res = resources()
    monitoring = build_monitoring(res)
    return MonitorPipeline(indexing().indexer.detector, media=res.store("media"), rules=monitoring.rules,
                           states=CameraStateStore(res.table("records")), events=monitoring.events)


def segments_of(record: SQSRecord) -> list[tuple[str, int, str]]:
    """(camera, segment start ms, key) of each footage segment an S3 notification names."""
    body = record.json_body
    if isinstance(body, dict) and body.get("Event") == "s3:TestEvent":
        return []
    found = []
    for s3_record in S3Event(body).records:
        key = unquote_plus(s3_record.s3.get_object.key)
        match = SEGMENT_KEY.match(key)
        if match is None:
            logger.warning("not a footage segment", extra={"key": key})
            continue
        found.append((match["camera_id"], int(match["start_ms"]), key))
    return found


def index_segment(camera_id: str, start_ms: int, key: str) -> dict[str, Any]:
    # nominal end: the hour is compacted after its last full segment (a short one leaves parts, still read)
    end_ms = start_ms + round(resources().settings.segment_seconds * 1000)
    seen: list[DetectedFrame] = []
    indexed = indexing().run(camera_id, start_ms, key, segment_end_ms=end_ms, on_frames=seen.extend)
    outcome = monitor().observe(camera_id, key, lambda state: [
        f for f in seen if state.last_frame_ms is None or f[0] > state.last_frame_ms], now_ms())
    return {"camera_id": camera_id, "segment_start_ms": start_ms, "tracks": len(indexed.records),
            "frames": indexed.frames, "people": indexed.people, "monitor": outcome.outcome,
            "events": list(outcome.events), "elapsed_s": indexed.elapsed_s, "footage_s": indexed.footage_seconds,
            "index_off": indexed.index_off}


@tracer.capture_method
def record_handler(record: SQSRecord) -> None:
    if not get_settings().search_index_on_ingest:
        return
    for camera_id, start_ms, key in segments_of(record):
        try:
            outcome = index_segment(camera_id, start_ms, key)
        except (ObjectMissing, PermanentError) as exc:  # expired or undecodable: retrying cannot help
            logger.warning("segment not indexed", extra={"key": key, "reason": str(exc)})
            continue
        if outcome["index_off"]:  # an operator kept the camera out of the index (monitoring still ran)
            metrics.add_metric(name="SegmentsIndexOff", unit=MetricUnit.Count, value=1)
            logger.info("segment not indexed: indexing off", extra=outcome)
            continue
        metrics.add_metric(name="SegmentsIndexed", unit=MetricUnit.Count, value=1)
        metrics.add_metric(name="TracksIndexed", unit=MetricUnit.Count, value=outcome["tracks"])
        if outcome["elapsed_s"]:
            metrics.add_metric(name="IndexRealtimeFactor", unit=MetricUnit.NoUnit,
                               value=outcome["footage_s"] / outcome["elapsed_s"])
        logger.info("segment indexed", extra=outcome)


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
