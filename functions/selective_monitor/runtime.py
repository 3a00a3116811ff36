"""What one selective-monitor container builds once: the detector (model registry's YOLOX, the
HOG fallback when none is registered), the stores, the pipeline and its idempotent step."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)

from chalicelib.adapters.resources import Resources
from chalicelib.clock import now_ms
from chalicelib.inference.active import ActivePointer
from chalicelib.ports import ObjectStore
from chalicelib.s3_events import s3_objects
from chalicelib.services.selective_monitor import CameraStateStore, MonitorPipeline
from chalicelib.video.detect import Detector, build_detector
from chalicelib.video.models import DETECTOR, SHARED_MODELS, load_video_model, video_registry
from chalicelib.wiring.selective_monitor import build_monitoring

logger = logging.getLogger(__name__)
IDEMPOTENCY_TTL_S = 24 * 3600


@dataclass(frozen=True)
class MonitorRuntime:
    pipeline: MonitorPipeline
    media: ObjectStore
    analyse_once: Callable[..., dict[str, Any]]
    idempotency: IdempotencyConfig
    refresh_detector: Callable[[], None] = lambda: None


def detector_refresher(pipeline: MonitorPipeline, models: ObjectStore) -> Callable[[], None]:
    """Called before each batch: a newly activated (or rolled back) detector replaces the warm one within
    ACTIVE_CHECK_S (chalicelib/inference/active.py)."""
    pointer = ActivePointer(lambda: video_registry(models).active(DETECTOR.task))

    def refresh() -> None:
        moved = pointer.changed()
        if moved is not None:
            pipeline.detector = load_detector(models)
            logger.info("active detector", extra={"model": "/".join(moved)})

    return refresh


def load_detector(models: ObjectStore, shared: Path | None = SHARED_MODELS) -> Detector:
    """The registry's YOLOX (else ../shared/models in development), or the classical HOG people
    detector, clearly logged, when neither has it."""
    model = load_video_model(DETECTOR, store=models, shared=shared, threads=1)
    if model is None:
        logger.warning("no detector model registered: using the classical HOG people detector")
        return build_detector("hog")
    return build_detector("yolox", session=model.session)


def build_runtime(resources: Resources, detector: Detector | None = None) -> MonitorRuntime:
    table = resources.table("records")
    monitoring = build_monitoring(resources)
    pipeline = MonitorPipeline(detector or load_detector(resources.store("models")), media=resources.store("media"),
                               rules=monitoring.rules, states=CameraStateStore(table), events=monitoring.events)
    media = resources.store("media")

    def analyse(upload: dict[str, Any]) -> dict[str, Any]:
        outcome = pipeline.process(upload["key"], media.get(upload["key"]), now_ms())
        return {"camera_id": outcome.camera_id, "key": outcome.key, "outcome": outcome.outcome,
                "frames": outcome.frames, "events": list(outcome.events), "observed_ms": outcome.observed_ms,
                "surfaced_ms": outcome.surfaced_ms}

    persistence = DynamoDBPersistenceLayer(table_name=resources.catalog.table("idempotency"),
                                           boto3_client=resources.client("dynamodb"))
    # One analysis per uploaded object version: a redelivered notification names the same bucket/key/etag.
    config = IdempotencyConfig(event_key_jmespath="[bucket, key, etag]", raise_on_no_idempotency_key=True,
                               expires_after_seconds=IDEMPOTENCY_TTL_S)
    analyse_once = idempotent_function(analyse, data_keyword_argument="upload", persistence_store=persistence,
                                       config=config)
    return MonitorRuntime(pipeline=pipeline, media=media, analyse_once=analyse_once, idempotency=config,
                          refresh_detector=detector_refresher(pipeline, resources.store("models")))


def uploads_of(record: SQSRecord) -> list[dict[str, Any]]:
    """The objects an S3 notification names; [] for ``s3:TestEvent``."""
    return [{"bucket": obj.bucket, "key": obj.key, "etag": obj.etag} for obj in s3_objects(record)]
