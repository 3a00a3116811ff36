"""PACS delivery under moto with a real pynetdicom storage SCP on loopback: center-notify → SQS → handler →
C-STORE; a PACS that is down gets everything when it comes back, exactly once; every delivery audited."""

from __future__ import annotations

import email
import io
import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import pydicom
import pytest
from dicom_results_support import deidentified_source, heatmap_png, settled_study
from PIL import Image
from pydicom.uid import Comprehensive3DSRStorage, SecondaryCaptureImageStorage
from pynetdicom import AE, evt

from chalicelib import cli
from chalicelib.models.principal import PrincipalKind
from chalicelib.models.xray import StudyCreate, StudyNotice, StudyStatus
from chalicelib.services.audit import AuditLog
from chalicelib.services.xray.heatmap_legend import labelled_heatmap
from chalicelib.services.xray.studies import XrayStudies
from functions.pacs_delivery import handler
from local.lambda_runtime import function_name_of, resolve_handler
from local.pump import EventPump, QueueBinding

CENTER = "hc-mapo"
_RECENT_MS = int((time.time() - 3600) * 1000)  # the audit log is read per day: read only today
CONSUMER = "functions.pacs_delivery.handler.lambda_handler"


class StorageScp:
    """A PACS: a pynetdicom storage SCP that keeps what it receives by SOP Instance UID, and counts each C-STORE."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.received: dict[str, pydicom.Dataset] = {}
        self.stores: Counter[str] = Counter()
        self._server: Any = None

    def _on_store(self, event: Any) -> int:
        dataset = event.dataset
        dataset.file_meta = event.file_meta
        self.received[str(dataset.SOPInstanceUID)] = dataset
        self.stores[str(dataset.SOPInstanceUID)] += 1
        return 0x0000

    def start(self) -> None:
        ae = AE(ae_title="TESTPACS")
        for context in (Comprehensive3DSRStorage, SecondaryCaptureImageStorage):
            ae.add_supported_context(context)
        self._server = ae.start_server(("127.0.0.1", self.port), block=False,
                                       evt_handlers=[(evt.EVT_C_STORE, self._on_store)])

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server = None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def pacs() -> Iterator[StorageScp]:
    scp = StorageScp(_free_port())
    yield scp
    scp.stop()


@pytest.fixture
def pump(aws: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[EventPump, QueueBinding]]:
    monkeypatch.setattr("chalicelib.services.xray.pacs_delivery.HEATMAP_POLL_S", 0.5)  # the heat map's brief wait
    handler.delivery.cache_clear()
    sqs = aws.client("sqs")
    spec = aws.catalog.queue("pacs-delivery")
    url = sqs.get_queue_url(QueueName=spec.name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    binding = QueueBinding(function_name=function_name_of(CONSUMER), queue_url=url, queue_arn=arn,
                           handler=resolve_handler(CONSUMER), batch_size=spec.batch_size, timeout_s=spec.consumer_timeout_s)
    yield EventPump(sqs, [binding], region="ap-northeast-2", wait_seconds=0), binding
    handler.delivery.cache_clear()


def _settle(aws: Any, *, with_heatmap: bool = True) -> StudyNotice:
    """A done study of CENTER as the reader leaves it: reading stored, de-identified copy and heat map in S3;
    its notice published on center-notify."""
    studies, store = XrayStudies(aws.table("records"), aws.store("xray")), aws.store("xray")
    now_ms = int(time.time() * 1000)
    created = studies.create(CENTER, StudyCreate(filename="chest.dcm"), now_ms=now_ms)
    template = settled_study(created.study_id, CENTER, completed_ms=now_ms)
    assert template.reading is not None and template.source is not None
    study = studies.complete(studies.get(created.study_id), template.reading, template.source, now_ms=now_ms)
    assert study.reading is not None and study.reading.deid_key is not None
    store.put(study.reading.deid_key, deidentified_source(), content_type="application/dicom")
    if with_heatmap:
        key = f"reports/{CENTER}/{study.study_id}/heatmap.png"
        store.put(key, heatmap_png(), content_type="image/png")
        study = studies.add_heatmap(study, study.reading.model_copy(update={"heatmap_key": key}), now_ms=now_ms)
    notice = StudyNotice(study_id=study.study_id, center_id=CENTER, status=StudyStatus.DONE,
                         triage=study.reading.triage if study.reading else None)
    aws.topic("center-notify").publish(notice.model_dump_json(), attributes={"center_id": CENTER})
    return notice


def _center(aws: Any, pacs: StorageScp) -> None:
    cli.create_principal(PrincipalKind.HEALTH_CENTER, "Mapo health center", principal_id=CENTER,
                         attributes={"pacs": f"TESTPACS@127.0.0.1:{pacs.port}"}, resources=aws)


def test_reading_is_stored_in_the_centers_pacs_and_matches_it(aws, pacs, pump) -> None:
    # GIVEN a center whose PACS runs, and a done study whose notice went out on center-notify
    pacs.start()
    _center(aws, pacs)
    notice = _settle(aws)
    events, binding = pump
    # WHEN the pump hands the pacs-delivery queue's message to the handler
    result = events.poll_once(binding)
    # THEN the message succeeded and the PACS holds the SR and the heat map, in the source's study
    assert (result.received, result.succeeded, result.failed) == (1, 1, 0)
    kinds = {str(d.SOPClassUID): d for d in pacs.received.values()}
    assert set(kinds) == {"1.2.840.10008.5.1.4.1.1.88.34", "1.2.840.10008.5.1.4.1.1.7"}
    sr = kinds["1.2.840.10008.5.1.4.1.1.88.34"]
    study = XrayStudies(aws.table("records"), aws.store("xray")).get(notice.study_id)
    assert study.reading is not None and study.reading.deid_key is not None
    source = pydicom.dcmread(io.BytesIO(aws.store("xray").get(study.reading.deid_key)))
    assert sr.StudyInstanceUID == source.StudyInstanceUID
    assert sr.CurrentRequestedProcedureEvidenceSequence[0].ReferencedSeriesSequence[0] \
        .ReferencedSOPSequence[0].ReferencedSOPInstanceUID == source.SOPInstanceUID
    scores = sorted(round(float(i.MeasuredValueSequence[0].NumericValue), 4) for group in sr.ContentSequence
                    for container in group.get("ContentSequence", []) for i in container.get("ContentSequence", [])
                    if i.ValueType == "NUM" and i.ConceptNameCodeSequence[0].CodeValue == "score")
    assert scores == sorted(round(f.score, 4) for f in study.reading.findings)
    # AND the heat map's picture carries its legend below the overlay (a viewer shows only the picture)
    overlay = Image.open(io.BytesIO(aws.store("xray").get(study.reading.heatmap_key or "")))
    sent = kinds["1.2.840.10008.5.1.4.1.1.7"].pixel_array
    assert sent.shape[0] > overlay.height * sent.shape[1] / overlay.width  # taller than the overlay: the band
    labelled = labelled_heatmap(aws.store("xray").get(study.reading.heatmap_key or ""), study.reading)
    assert np.array_equal(sent, np.asarray(Image.open(io.BytesIO(labelled)).convert("RGB")))
    # AND each object stored is audited
    audits = [r for r in AuditLog(aws.table("audit")).records(since_ms=_RECENT_MS) if r.action == "pacs.delivery"]
    assert sorted(str(r.details["kind"]) for r in audits if r.result == "ok") == ["heatmap", "sr"]


def test_a_pacs_that_is_down_gets_everything_when_it_comes_back_exactly_once(aws, pacs, pump) -> None:
    # GIVEN a center whose PACS is down, two done studies notified, and a queue whose failed messages come back
    # at once (the visibility timeout passing, without the wait)
    _center(aws, pacs)
    notices = [_settle(aws), _settle(aws)]
    events, binding = pump
    aws.client("sqs").set_queue_attributes(QueueUrl=binding.queue_url, Attributes={"VisibilityTimeout": "0"})
    # WHEN the pump delivers twice while the PACS is down
    down = [events.poll_once(binding) for _ in range(2)]
    # THEN every try fails (the messages stay queued), nothing is stored, and each failure is audited
    assert [(r.received, r.failed) for r in down] == [(2, 2), (2, 2)]
    failed = [r for r in AuditLog(aws.table("audit")).records(since_ms=_RECENT_MS) if r.result == "failed"]
    assert len(failed) == 4
    # WHEN the PACS comes back and the messages are delivered again
    pacs.start()
    up = events.poll_once(binding)
    # THEN both succeed and the 4 objects (2 SRs, 2 heat maps) were each C-STOREd exactly once
    assert (up.received, up.succeeded) == (2, 2)
    assert len(pacs.stores) == 4 and set(pacs.stores.values()) == {1}
    # WHEN SQS/SNS deliver the same notices once more (at-least-once)
    for notice in notices:
        aws.topic("center-notify").publish(notice.model_dump_json(), attributes={"center_id": CENTER})
    again = events.poll_once(binding)
    # THEN they are acknowledged and nothing is sent twice
    assert (again.received, again.succeeded) == (2, 2)
    assert len(pacs.stores) == 4 and set(pacs.stores.values()) == {1}
    delivered = [r for r in AuditLog(aws.table("audit")).records(since_ms=_RECENT_MS)
                 if r.action == "pacs.delivery" and r.result == "ok"]
    assert len(delivered) == 4


def test_heatmap_follows_the_reading_when_made_after_the_notice(aws, pacs, pump) -> None:
    # GIVEN a done study whose heat map is not made yet when its notice is handled
    pacs.start()
    _center(aws, pacs)
    notice = _settle(aws, with_heatmap=False)
    events, binding = pump
    aws.client("sqs").set_queue_attributes(QueueUrl=binding.queue_url, Attributes={"VisibilityTimeout": "0"})
    # WHEN the notice is handled
    first = events.poll_once(binding)
    # THEN the SR is stored at once and the message is retried for the heat map
    assert first.failed == 1
    assert [str(d.SOPClassUID) for d in pacs.received.values()] == ["1.2.840.10008.5.1.4.1.1.88.34"]
    # WHEN the heat-map step stores the map and the message comes back
    studies, store = XrayStudies(aws.table("records"), aws.store("xray")), aws.store("xray")
    study = studies.get(notice.study_id)
    assert study.reading is not None
    key = f"reports/{CENTER}/{study.study_id}/heatmap.png"
    store.put(key, heatmap_png(), content_type="image/png")
    studies.add_heatmap(study, study.reading.model_copy(update={"heatmap_key": key}), now_ms=int(time.time() * 1000))
    second = events.poll_once(binding)
    # THEN the heat map is stored too and the SR is not sent again
    assert second.succeeded == 1
    assert len(pacs.stores) == 2 and set(pacs.stores.values()) == {1}


def test_a_center_without_a_pacs_and_a_malformed_notice_are_acknowledged(aws, pump) -> None:
    # GIVEN a center without a PACS destination with a done study, and a message that is no study notice
    cli.create_principal(PrincipalKind.HEALTH_CENTER, "No PACS center", principal_id=CENTER, resources=aws)
    _settle(aws)
    events, binding = pump
    aws.client("sqs").send_message(QueueUrl=binding.queue_url, MessageBody='{"not": "a notice"}')
    # WHEN the pump delivers them
    result = events.poll_once(binding)
    # THEN both are acknowledged (nothing to retry) and nothing was audited as delivered
    assert (result.received, result.succeeded, result.failed) == (2, 2, 0)
    assert not [r for r in AuditLog(aws.table("audit")).records(since_ms=_RECENT_MS) if r.action == "pacs.delivery"]


def test_a_pacs_down_past_the_receive_count_dead_letters_the_notice(aws, pacs, pump) -> None:
    # GIVEN a center whose PACS stays down, a done study notified, and failed messages coming back at once
    _center(aws, pacs)
    notice = _settle(aws)
    events, binding = pump
    sqs, spec = aws.client("sqs"), aws.catalog.queue("pacs-delivery")
    sqs.set_queue_attributes(QueueUrl=binding.queue_url, Attributes={"VisibilityTimeout": "0"})
    # WHEN the pump tries as many times as the queue allows, and once more
    tries = [events.poll_once(binding) for _ in range(spec.max_receive_count + 1)]
    # THEN every try failed, and the notice now waits in the queue's DLQ for a replay
    assert sum(t.failed for t in tries) == spec.max_receive_count
    dlq_url = sqs.get_queue_url(QueueName=spec.dlq_name)["QueueUrl"]
    dead = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10).get("Messages", [])
    assert [StudyNotice.model_validate_json(m["Body"]).study_id for m in dead] == [notice.study_id]
    assert not pacs.stores


class StowRsReceiver:
    """A DICOMweb STOW-RS endpoint written from PS3.18 10.5: POST <base>/studies with a
    ``multipart/related; type="application/dicom"`` body; each part a DICOM Part 10 file."""

    def __init__(self) -> None:
        self.received: list[pydicom.Dataset] = []
        self.content_types: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                content_type = self.headers["Content-Type"]
                receiver.content_types.append(content_type)
                message = email.message_from_bytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
                ok = self.path.endswith("/studies") and message.get_content_type() == "multipart/related" \
                    and message.get_param("type") == "application/dicom"
                stored = []
                for part in message.walk() if ok else []:
                    if part.get_content_type() == "application/dicom":
                        payload = part.get_payload(decode=True)
                        assert isinstance(payload, bytes)
                        dataset = pydicom.dcmread(io.BytesIO(payload))
                        receiver.received.append(dataset)
                        stored.append(str(dataset.SOPInstanceUID))
                answer = json.dumps({"00081199": {"vr": "SQ", "Value": [
                    {"00081155": {"vr": "UI", "Value": [uid]}} for uid in stored]}}).encode()
                self.send_response(200 if stored else 415)
                self.send_header("Content-Type", "application/dicom+json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/dicom-web"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def test_stow_rs_delivery_is_received_and_matches_the_reading(aws, pump) -> None:
    # GIVEN a center whose PACS takes results by DICOMweb STOW-RS, and a done study notified
    receiver = StowRsReceiver()
    try:
        cli.create_principal(PrincipalKind.HEALTH_CENTER, "Mapo health center", principal_id=CENTER,
                             attributes={"pacs": receiver.url}, resources=aws)
        notice = _settle(aws)
        events, binding = pump
        # WHEN the pump delivers the notice, and a duplicate of it
        first = events.poll_once(binding)
        aws.topic("center-notify").publish(notice.model_dump_json(), attributes={"center_id": CENTER})
        again = events.poll_once(binding)
    finally:
        receiver.stop()
    # THEN the endpoint received the SR and the heat map once each, as multipart/related application/dicom
    assert (first.succeeded, again.succeeded) == (1, 1)
    classes = sorted(str(d.SOPClassUID) for d in receiver.received)
    assert classes == ["1.2.840.10008.5.1.4.1.1.7", "1.2.840.10008.5.1.4.1.1.88.34"]
    assert all(ct.startswith('multipart/related; type="application/dicom"') for ct in receiver.content_types)
    # AND the SR is the reading's, in the de-identified source's study
    study = XrayStudies(aws.table("records"), aws.store("xray")).get(notice.study_id)
    assert study.reading is not None and study.reading.deid_key is not None
    source = pydicom.dcmread(io.BytesIO(aws.store("xray").get(study.reading.deid_key)))
    sr = next(d for d in receiver.received if d.Modality == "SR")
    assert sr.StudyInstanceUID == source.StudyInstanceUID
    audits = [r for r in AuditLog(aws.table("audit")).records(since_ms=_RECENT_MS) if r.action == "pacs.delivery"]
    assert {str(r.details["destination"]) for r in audits} == {receiver.url}


def test_a_center_that_opted_in_gets_results_in_its_original_study(aws, pacs, pump) -> None:
    from xray_support import dicom_bytes

    from chalicelib.imaging.deid import deidentify_dicom
    from local.xray_samples import synthetic_chest

    # GIVEN a center that files results under its original UIDs, and a study whose upload is its own image
    pacs.start()
    cli.create_principal(PrincipalKind.HEALTH_CENTER, "Mapo health center", principal_id=CENTER, resources=aws,
                         attributes={"pacs": f"TESTPACS@127.0.0.1:{pacs.port}", "pacs_uids": "original"})
    notice = _settle(aws)
    studies, store = XrayStudies(aws.table("records"), aws.store("xray")), aws.store("xray")
    study = studies.get(notice.study_id)
    assert study.reading is not None and study.reading.deid_key is not None
    original_bytes = dicom_bytes(synthetic_chest(256, seed=11))
    deid = deidentify_dicom(pydicom.dcmread(io.BytesIO(original_bytes)), uid_salt="s", pseudonym=study.study_id).data
    assert deid is not None
    store.put(study.upload_key, original_bytes, content_type="application/dicom")
    store.put(study.reading.deid_key, deid, content_type="application/dicom")
    original = pydicom.dcmread(io.BytesIO(original_bytes))
    # WHEN its notice is delivered
    events, binding = pump
    assert events.poll_once(binding).succeeded == 1
    # THEN the SR and the heat map are in the original study, the SR referencing the original image
    assert len(pacs.received) == 2
    assert {str(d.StudyInstanceUID) for d in pacs.received.values()} == {str(original.StudyInstanceUID)}
    sr = next(d for d in pacs.received.values() if d.Modality == "SR")
    referenced = sr.CurrentRequestedProcedureEvidenceSequence[0].ReferencedSeriesSequence[0].ReferencedSOPSequence[0]
    assert referenced.ReferencedSOPInstanceUID == original.SOPInstanceUID
    assert str(sr.PatientName) != str(original.PatientName)
