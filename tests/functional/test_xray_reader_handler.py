"""The xray-reader Lambda with S3-via-SQS events under moto: readings, rejections, idempotency,
retries, poison messages, one batched inference per batch, and a third-party model."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import time
from typing import Any

import numpy as np
import onnxruntime as ort
import pydicom
import pytest
from botocore.exceptions import ClientError
from pydicom.uid import generate_uid
from xray_support import (
    colour_photo_jpeg,
    dicom_bytes,
    dicom_path,
    manifest_rules_tensor,
    png_bytes,
    real_images,
    s3_sqs_event,
    synthetic_chest,
    third_party_model,
)

from chalicelib import cli
from chalicelib.errors import PermanentError
from chalicelib.imaging import decode_image
from chalicelib.inference.registry import ModelRegistry
from chalicelib.models.xray import Reading, Reason, StudyCreate, StudyNotice
from chalicelib.services.xray.studies import XrayStudies
from functions.xray_reader import handler
from functions.xray_reader.runtime import batch_uploads
from local.lambda_runtime import LambdaContext

CENTER = "hc-jongno"


@pytest.fixture
def reader(aws):
    handler.runtime.cache_clear()
    yield handler
    handler.runtime.cache_clear()


@pytest.fixture
def notices(aws):
    """Messages published on center-notify, through an SQS subscription (raw delivery)."""
    sqs, sns = aws.client("sqs"), aws.client("sns")
    url = sqs.create_queue(QueueName="center-notify-probe")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=aws.topic("center-notify").arn, Protocol="sqs", Endpoint=arn,
                  Attributes={"RawMessageDelivery": "true"})

    def drain() -> list[StudyNotice]:
        out: list[StudyNotice] = []
        while True:
            got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            if not got:
                return out
            for message in got:
                out.append(StudyNotice.model_validate_json(message["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    return drain


def studies(aws) -> XrayStudies:
    return XrayStudies(aws.table("records"), aws.store("xray"))


def upload(aws, data: bytes, filename: str = "image.png", center: str = CENTER) -> tuple[str, dict[str, Any]]:
    """A pending study with its image uploaded; returns (study_id, the S3 object as a notification names it)."""
    created = studies(aws).create(center, StudyCreate(filename=filename), now_ms=int(time.time() * 1000))
    key = created.upload.key
    aws.store("xray").put(key, data)
    head = aws.client("s3").head_object(Bucket=aws.store("xray").name, Key=key)
    return created.study_id, {"bucket": aws.store("xray").name, "key": key, "etag": head["ETag"].strip('"'),
                              "version_id": head.get("VersionId"), "size": len(data)}


def reading_of(aws, study_id: str) -> Reading:
    reading = studies(aws).get(study_id).reading
    assert reading is not None
    return reading


def reason_of(aws, study_id: str) -> Reason:
    reason = studies(aws).get(study_id).reason
    assert reason is not None
    return reason


def runtime_uploads(event):
    return batch_uploads(event["Records"])


def invoke(reader, event):
    return reader.lambda_handler(event, LambdaContext(function_name="xray-reader"))


def now_ms() -> int:
    return int(time.time() * 1000)


@pytest.mark.shared
def test_a_dicom_upload_is_read_deidentified_reported_and_notified(reader, aws, notices, capsys, caplog):
    # GIVEN the real DICOM (PatientName / PatientID present) uploaded for a pending study
    data = dicom_path().read_bytes()
    original = pydicom.dcmread(dicom_path())
    identity = [str(original.PatientName), str(original.PatientID)]
    study_id, obj = upload(aws, data, "chest.dcm")

    # WHEN the notification arrives
    response = invoke(reader, s3_sqs_event([obj], sent_ms=now_ms() - 50))

    # THEN the study is done with a reading by the non-clinical reference model
    assert response == {"batchItemFailures": []}
    study = studies(aws).get(study_id)
    assert study.status == "done"
    reading = study.reading
    assert reading is not None
    assert (reading.model.name, reading.model.clinical) == ("gt-reference-cxr", False)
    assert [f.label for f in reading.findings] == ["opacity", "asymmetry", "cardiac_silhouette"]
    assert all(f.positive == (f.score >= f.threshold) for f in reading.findings)
    assert reading.triage in {"normal", "abnormal", "urgent"}
    assert (reading.image.format, reading.image.width) == ("dicom", 1024)
    timings = reading.timings
    assert timings.queue_wait_ms >= 0
    assert timings.decode_ms > 0
    assert timings.inference_ms > 0
    assert timings.total_ms >= timings.decode_ms
    # AND the de-identified copy has no patient name or id and says so
    deid = aws.store("xray").get(reading.deid_key)
    clean = pydicom.dcmread(__import__("io").BytesIO(deid))
    assert clean.PatientIdentityRemoved == "YES"
    assert clean.DeidentificationMethodCodeSequence[0].CodeValue == "113100"
    # AND a JSON report and a heatmap PNG are stored
    report = json.loads(aws.store("xray").get(reading.report_key))
    assert report["reading"]["model"]["clinical"] is False
    assert "NON-CLINICAL" in report["notice"]
    assert report["heatmap"]["method"].startswith("occlusion sensitivity")
    assert reading.heatmap_method == report["heatmap"]["method"]
    assert aws.store("xray").get(reading.heatmap_key).startswith(b"\x89PNG")
    # AND the center is notified
    assert [(n.study_id, n.status, n.center_id) for n in notices()] == [(study_id, "done", CENTER)]
    # AND no patient identifier is anywhere: copy, reading, report, logs
    logs = capsys.readouterr()
    for secret in identity:
        assert secret.encode() not in deid
        assert secret not in study.model_dump_json()
        assert secret not in json.dumps(report)
        assert secret not in logs.out + logs.err + caplog.text


def test_deidentified_uids_are_keyed_by_the_stages_secret_deid_key(reader, aws):
    # GIVEN the stage's de-identification key, provisioned in Secrets Manager under its catalog name
    key = aws.client("secretsmanager").get_secret_value(SecretId=aws.catalog.secret("deid-key"))["SecretString"]
    assert len(key) == 64
    # AND a DICOM upload with its study, series and instance UIDs
    data = dicom_bytes(synthetic_chest(512))
    original = pydicom.dcmread(io.BytesIO(data))
    study_id, obj = upload(aws, data, "chest.dcm")

    # WHEN the notification arrives
    assert invoke(reader, s3_sqs_event([obj])) == {"batchItemFailures": []}

    # THEN each UID of the stored de-identified copy is derived from that secret key and the original
    clean = pydicom.dcmread(io.BytesIO(aws.store("xray").get(reading_of(aws, study_id).deid_key)))
    for keyword in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"):
        value = str(original.get(keyword))
        digest = hmac.new(key.encode(), value.encode(), hashlib.sha256).digest()
        assert clean.get(keyword) == f"2.25.{int.from_bytes(digest[:16], 'big')}", keyword
        # AND not from the public per-stage constant that used to salt it (anyone could recompute that)
        assert clean.get(keyword) != generate_uid(entropy_srcs=[f"gt-{aws.settings.stage}-deid-uids", value])
        assert clean.get(keyword) != value


def test_a_study_with_burned_in_annotation_is_read_but_its_copy_withheld_for_review(reader, aws):
    # GIVEN a DICOM whose header says identifying text is burned into the pixels
    ds = pydicom.dcmread(io.BytesIO(dicom_bytes(synthetic_chest(512))))
    ds.BurnedInAnnotation = "YES"
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    study_id, obj = upload(aws, buffer.getvalue(), "chest.dcm")
    # WHEN the notification arrives
    assert invoke(reader, s3_sqs_event([obj])) == {"batchItemFailures": []}
    # THEN the reading is made, but no de-identified copy exists and the study is flagged for review
    reading = reading_of(aws, study_id)
    assert reading.findings
    assert reading.deid_key is None
    assert reading.review_required is True
    assert "BurnedInAnnotation" in (reading.deid_withheld or "")
    assert list(aws.store("xray").keys("deid/")) == []


def test_the_reading_is_stored_and_notified_before_its_heatmap_is_made(reader, aws, notices):
    # GIVEN two uploads read by the reader's steps, as the handler runs them
    uploads = [upload(aws, png_bytes(synthetic_chest(512, seed=s))) for s in range(2)]
    events = s3_sqs_event([obj for _, obj in uploads])
    rt = reader.runtime()
    batch = rt.reader.prepare(runtime_uploads(events))
    # WHEN each reading is settled
    for one in runtime_uploads(events):
        rt.reader.finish(upload=one, batch=batch)
    # THEN the readings are stored and the center notified, with no heat map yet
    assert sorted(n.study_id for n in notices()) == sorted(study_id for study_id, _ in uploads)
    for study_id, _ in uploads:
        reading = reading_of(aws, study_id)
        assert (reading.heatmap_key, reading.heatmap_method) == (None, None)
        assert not list(aws.store("xray").keys(reading.report_key))  # the report is written by the step after
    # WHEN the heat-map step runs
    assert rt.reader.explain(batch) == 2
    # THEN each reading and report has its heat map, and nothing else changed
    for study_id, _ in uploads:
        reading = reading_of(aws, study_id)
        assert reading.heatmap_key is not None
        assert aws.store("xray").get(reading.heatmap_key).startswith(b"\x89PNG")
        assert (reading.heatmap_method or "").startswith("occlusion sensitivity (4x4")
        assert reading.timings.heatmap_ms > 0
        report = json.loads(aws.store("xray").get(reading.report_key))
        assert report["heatmap"]["method"] == reading.heatmap_method
        assert np.asarray(report["heatmap"]["values"]).shape == (4, 4)
        assert studies(aws).get(study_id).status == "done"
    assert notices() == []  # the heat map is no second notification


def test_a_model_whose_manifest_names_its_feature_map_gets_class_activation_maps(reader, aws):
    # GIVEN a registered model ending in global pooling + a linear layer, its manifest naming both
    from local.standin_models import small_with_features

    model, manifest = small_with_features()
    assert cli.register_xray_model(model, json.dumps(manifest), activate=True, resources=aws).name == manifest["name"]
    film = png_bytes(synthetic_chest(512))
    study_id, obj = upload(aws, film)
    # WHEN the upload is read
    assert invoke(reader, s3_sqs_event([obj])) == {"batchItemFailures": []}
    # THEN the heat map is the class activation map of the top finding: relu(w[top] · features), peak 1
    reading = reading_of(aws, study_id)
    assert reading.model.name == manifest["name"]
    assert reading.heatmap_method == "class activation map"
    report = json.loads(aws.store("xray").get(reading.report_key))
    heat = np.asarray(report["heatmap"]["values"])
    # (computed here from a direct onnxruntime run, Keras-style input: nearest 150 px, grey × 3, x/127.5 − 1)
    import onnx
    from onnx import numpy_helper
    from PIL import Image

    grey = np.asarray(Image.open(io.BytesIO(film)).convert("L").resize((150, 150), Image.Resampling.NEAREST), np.float32)
    x = np.repeat((grey / 127.5 - 1.0)[None, :, :, None], 3, axis=-1)
    logits, features = ort.InferenceSession(model).run(["logits", "features"], {"input_1": x})
    weights = next(numpy_helper.to_array(i) for i in onnx.load_from_string(model).graph.initializer if i.name == "fc_w")
    cam = np.clip(np.tensordot(weights[int(np.argmax(logits[0]))], features[0], axes=(0, 0)), 0, None)
    assert heat.shape == cam.shape == (17, 17)  # 150 px after three unpadded stride-2 3×3 convolutions
    np.testing.assert_allclose(heat, cam / cam.max(), atol=2e-3)


def test_a_missing_deid_key_fails_the_cold_start_and_reads_nothing(reader, aws):
    # GIVEN a stage whose de-identification key does not exist
    name = aws.catalog.secret("deid-key")
    aws.client("secretsmanager").delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    study_id, obj = upload(aws, dicom_bytes(synthetic_chest(512)), "chest.dcm")

    # WHEN the container starts THEN it fails with a PermanentError naming the secret, never a fallback salt
    with pytest.raises(PermanentError, match=name):
        invoke(reader, s3_sqs_event([obj]))
    # AND the study is untouched: the whole batch is redelivered once the key exists
    assert studies(aws).get(study_id).status == "pending"
    assert list(aws.store("xray").keys("deid/")) == []


def test_one_batched_inference_scores_the_whole_batch(reader, aws):
    # GIVEN three uploads in one SQS batch
    uploads = [upload(aws, png_bytes(synthetic_chest(512, seed=s))) for s in range(3)]
    # WHEN the batch is handled
    response = invoke(reader, s3_sqs_event([obj for _, obj in uploads]))
    # THEN all three readings came from the same batched inference
    assert response == {"batchItemFailures": []}
    readings = [reading_of(aws, study_id) for study_id, _ in uploads]
    assert [r.timings.batch_size for r in readings] == [3, 3, 3]
    assert len({r.timings.inference_ms for r in readings}) == 1


UNUSABLE = {
    "not_an_image": [b"\x89PNG\r\n\x1a\n" + bytes(50), b"this is a text file, not an X-ray at all" * 20],
    "colour_photo": [colour_photo_jpeg()],
    "image_too_small": [png_bytes(synthetic_chest(200))],
    "inverted_image": [png_bytes(1.0 - synthetic_chest(512))],
    "blank_image": [png_bytes(np.full((512, 512), 0.5, np.float32))],
}


def test_unusable_uploads_are_rejected_each_with_its_reason(reader, aws, notices):
    # GIVEN a batch of corrupt, non-image, colour-photo, too-small, inverted and blank uploads
    cases = [(code, upload(aws, data)) for code, payloads in UNUSABLE.items() for data in payloads]
    # WHEN handled
    response = invoke(reader, s3_sqs_event([obj for _, (_, obj) in cases]))
    # THEN every message is acknowledged (retrying cannot help) and every study is rejected with its reason
    assert response == {"batchItemFailures": []}
    for code, (study_id, _) in cases:
        study = studies(aws).get(study_id)
        assert (study.status, reason_of(aws, study_id).code) == ("rejected", code)
        assert reason_of(aws, study_id).message
        assert study.reading is None
    assert sorted((n.status, n.reason_code) for n in notices()) == sorted(("rejected", code) for code, _ in cases)


def test_a_rejected_image_in_a_batch_does_not_stop_the_others(reader, aws):
    good, good_obj = upload(aws, png_bytes(synthetic_chest(512)))
    bad, bad_obj = upload(aws, colour_photo_jpeg(), "photo.jpg")
    assert invoke(reader, s3_sqs_event([bad_obj, good_obj])) == {"batchItemFailures": []}
    assert studies(aws).get(good).status == "done"
    assert studies(aws).get(bad).status == "rejected"


def test_duplicate_notifications_give_one_reading(reader, aws, notices):
    # GIVEN one upload whose notification arrives twice in a batch and once more later
    study_id, obj = upload(aws, png_bytes(synthetic_chest(512)))
    first = invoke(reader, s3_sqs_event([obj, obj], message_ids=["m-1", "m-2"]))
    reading = studies(aws).get(study_id).reading
    second = invoke(reader, s3_sqs_event([obj], message_ids=["m-3"], receive_count=1))
    # THEN every message is acknowledged, there is one reading, one notice, one idempotency record
    assert first == second == {"batchItemFailures": []}
    assert studies(aws).get(study_id).reading == reading
    assert [n.study_id for n in notices()] == [study_id]
    records = list(aws.table("idempotency").scan())
    assert len(records) == 1
    assert records[0]["status"] == "COMPLETED"


def _fail_get_object(aws, times: int | None):
    """Inject S3 GetObject failures at the AWS boundary (a throttled / unavailable S3)."""
    left = {"n": times}

    def hook(**kwargs):
        if left["n"] is None or left["n"] > 0:
            if left["n"] is not None:
                left["n"] -= 1
            raise ClientError({"Error": {"Code": "SlowDown", "Message": "injected"}}, "GetObject")

    aws.client("s3").meta.events.register("before-call.s3.GetObject", hook, unique_id="xray-inject")
    return lambda: aws.client("s3").meta.events.unregister("before-call.s3.GetObject", unique_id="xray-inject")


def test_a_transient_failure_is_retried_and_gives_one_reading(reader, aws, notices):
    # GIVEN S3 fails once while the reader fetches the upload
    study_id, obj = upload(aws, png_bytes(synthetic_chest(512)))
    invoke(reader, s3_sqs_event([upload(aws, png_bytes(synthetic_chest(512, seed=9)))[1]]))  # warm, unrelated
    notices()
    remove = _fail_get_object(aws, times=1)
    try:
        # WHEN the message is delivered: the record fails and is reported for redelivery
        first = invoke(reader, s3_sqs_event([obj], message_ids=["m-1"]))
        assert first == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
        assert studies(aws).get(study_id).status == "pending"
        # AND redelivered: it succeeds
        second = invoke(reader, s3_sqs_event([obj], message_ids=["m-1"], receive_count=2))
    finally:
        remove()
    # THEN there is exactly one reading and one notice
    assert second == {"batchItemFailures": []}
    assert studies(aws).get(study_id).status == "done"
    assert [n.study_id for n in notices()] == [study_id]


def test_a_poison_message_fails_its_study_on_the_last_delivery(reader, aws, notices):
    study_id, obj = upload(aws, png_bytes(synthetic_chest(512)))
    invoke(reader, s3_sqs_event([upload(aws, png_bytes(synthetic_chest(512, seed=9)))[1]]))  # warm, unrelated
    notices()
    remove = _fail_get_object(aws, times=None)
    try:
        early = invoke(reader, s3_sqs_event([obj], message_ids=["m-1"], receive_count=1))
        assert studies(aws).get(study_id).status == "pending"  # still worth retrying
        last = invoke(reader, s3_sqs_event([obj], message_ids=["m-1"], receive_count=3))  # maxReceiveCount
    finally:
        remove()
    assert early == last == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}  # → DLQ after this one
    study = studies(aws).get(study_id)
    assert study.status == "failed"
    assert reason_of(aws, study_id).code == "reading_failed"
    assert "3 times" in reason_of(aws, study_id).message
    assert [(n.status, n.reason_code) for n in notices()] == [("failed", "reading_failed")]


def test_keys_outside_any_study_and_another_centers_study_are_acknowledged_and_ignored(reader, aws):
    study_id, obj = upload(aws, png_bytes(synthetic_chest(512)), center="hc-mapo")
    forged = {**obj, "key": obj["key"].replace("hc-mapo", CENTER)}
    aws.store("xray").put(forged["key"], png_bytes(synthetic_chest(512)))
    stray = {**obj, "key": "uploads/readme.txt"}
    assert invoke(reader, s3_sqs_event([forged, stray])) == {"batchItemFailures": []}
    assert studies(aws).get(study_id).status == "pending"


def test_an_unparseable_message_fails_alone(reader, aws):
    study_id, obj = upload(aws, png_bytes(synthetic_chest(512)))
    event = s3_sqs_event([obj], message_ids=["good"])
    broken = json.loads(json.dumps(event["Records"][0]))
    broken.update(messageId="broken", body="{not json")
    event["Records"].append(broken)
    assert invoke(reader, event) == {"batchItemFailures": [{"itemIdentifier": "broken"}]}
    assert studies(aws).get(study_id).status == "done"


def test_a_third_party_model_with_another_layout_and_normalisation_runs_unchanged(reader, aws):
    # GIVEN a registered, activated model: NHWC, 3 channels, fixed range [-1024, 1024], batch 1, softmax
    manifest, model = third_party_model()
    registry = ModelRegistry(aws.store("models"))
    registry.register(manifest, model)
    registry.activate("xray", manifest.name, manifest.version)
    images = [p for p in real_images() if p.suffix in {".png", ".dcm"}][:2]
    payloads = [p.read_bytes() for p in images] or [png_bytes(synthetic_chest(512, seed=s)) for s in range(2)]
    uploads = [upload(aws, data, "image.dcm" if data[128:132] == b"DICM" else "image.png") for data in payloads]

    # WHEN the pipeline reads them (one batch)
    assert invoke(reader, s3_sqs_event([obj for _, obj in uploads])) == {"batchItemFailures": []}

    # THEN each reading names the model and its scores equal a direct onnxruntime run on the same image
    # preprocessed by the manifest's rules (written out independently in the test)
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    for (study_id, _), data in zip(uploads, payloads, strict=True):
        reading = reading_of(aws, study_id)
        assert (reading.model.name, reading.model.version) == ("acme-cxr", "2.1.0")
        tensor = manifest_rules_tensor(decode_image(data).pixels, (160, 160), -1024, 1024)
        logits = session.run(["class_logits"], {"pixels": tensor})[0][0].astype(np.float64)
        expected = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
        np.testing.assert_allclose(np.array([f.score for f in reading.findings]), expected, atol=2e-5)
        assert [f.label for f in reading.findings] == ["finding_a", "finding_b"]
        assert aws.store("xray").get(reading.heatmap_key).startswith(b"\x89PNG")


