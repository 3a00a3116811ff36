"""Activating or rolling back a model reaches a warm X-ray reader without a restart (admin CLI → registry →
the reader's per-batch check of the active pointer)."""

from __future__ import annotations

import time

import pytest
from conftest import load_event
from xray_support import png_bytes, s3_sqs_event, synthetic_chest, third_party_model

from chalicelib import cli
from chalicelib.inference import active
from chalicelib.inference.reference_model import NAME as REFERENCE_NAME
from chalicelib.inference.registry import ModelError, ModelRegistry
from chalicelib.models.xray import StudyCreate
from chalicelib.services.xray.studies import XrayStudies
from chalicelib.video.models import DETECTOR, SHARED_MODELS, register_video_models
from functions.xray_reader import handler
from local.lambda_runtime import LambdaContext

CHECK_S = 0.5


@pytest.fixture
def reader(aws, monkeypatch):
    monkeypatch.setattr(active, "ACTIVE_CHECK_S", CHECK_S)  # the deployed interval is 30 s; the test waits less
    handler.runtime.cache_clear()
    yield handler
    handler.runtime.cache_clear()


def _read_one(aws, reader, seed: int) -> tuple[str, str]:
    """Upload one study image, deliver its notification to the (warm) reader; the reading's model."""
    studies = XrayStudies(aws.table("records"), aws.store("xray"))
    created = studies.create("hc-1", StudyCreate(filename="image.png"), now_ms=int(time.time() * 1000))
    data = png_bytes(synthetic_chest(256, seed=seed))
    aws.store("xray").put(created.upload.key, data)
    head = aws.client("s3").head_object(Bucket=aws.store("xray").name, Key=created.upload.key)
    event = s3_sqs_event([{"bucket": aws.store("xray").name, "key": created.upload.key, "size": len(data),
                           "etag": head["ETag"].strip('"'), "version_id": head.get("VersionId")}])
    assert reader.lambda_handler(event, LambdaContext(function_name="xray-reader")) == {"batchItemFailures": []}
    reading = studies.get(created.study_id).reading
    assert reading is not None
    return reading.model.name, reading.model.version


def test_a_warm_reader_picks_up_a_newly_activated_version_and_a_rollback(aws, reader, capsys):
    # GIVEN a warm reader serving the reference model, and a second model registered beside it
    assert _read_one(aws, reader, seed=1)[0] == REFERENCE_NAME
    manifest, model = third_party_model()
    ModelRegistry(aws.store("models")).register(manifest, model)
    warm = handler.runtime()

    # WHEN an operator activates it with the admin CLI
    assert cli.main(["models", "activate", manifest.name, manifest.version]) == 0
    time.sleep(CHECK_S + 0.1)
    # THEN the next batch of the same container is read with it
    assert _read_one(aws, reader, seed=2) == (manifest.name, manifest.version)
    assert handler.runtime() is warm

    # AND the CLI lists both, the new one active; a rollback puts the reference model back the same way
    assert cli.main(["models", "list"]) == 0
    listed = capsys.readouterr().out
    assert f"{manifest.name}/{manifest.version}  (active: xray)" in listed and REFERENCE_NAME in listed
    assert cli.main(["models", "rollback", "xray"]) == 0
    time.sleep(CHECK_S + 0.1)
    assert _read_one(aws, reader, seed=3)[0] == REFERENCE_NAME
    assert handler.runtime() is warm


def test_rollback_without_an_earlier_version_is_refused(aws, reader):
    registry = ModelRegistry(aws.store("models"))
    manifest, model = third_party_model()
    registry.register(manifest, model)
    registry.activate("xray", manifest.name, manifest.version)
    with pytest.raises(ModelError, match="no earlier active version"):
        registry.rollback("xray")


@pytest.mark.shared
@pytest.mark.skipif(not (SHARED_MODELS / DETECTOR.file).is_file(), reason="needs ../shared/models")
def test_a_warm_selective_monitor_switches_to_a_newly_activated_detector(aws, monkeypatch, caplog):
    from functions.selective_monitor import handler as monitor

    monkeypatch.setattr(active, "ACTIVE_CHECK_S", CHECK_S)
    monitor.runtime.cache_clear()
    # GIVEN a warm monitor whose detector came from the development copy (nothing registered yet)
    warm = monitor.runtime()
    before = warm.pipeline.detector
    # WHEN the video models are registered and activated in the registry
    manifests = {m.role: m for m in register_video_models(aws.store("models"), SHARED_MODELS)}
    time.sleep(CHECK_S + 0.1)
    with caplog.at_level("INFO"):
        batch = load_event("s3_sqs/test_event.json")  # any batch: S3's test event is acknowledged
        assert monitor.lambda_handler(batch, LambdaContext(function_name="selective-monitor")) == {
            "batchItemFailures": []}
    # THEN the same container's next batch runs the registry's detector
    assert monitor.runtime() is warm and warm.pipeline.detector is not before
    detector = manifests[DETECTOR.role]
    assert any(getattr(r, "model", None) == f"{detector.name}/{detector.version}" for r in caplog.records)
    monitor.runtime.cache_clear()
