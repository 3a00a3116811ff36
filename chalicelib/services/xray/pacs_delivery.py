"""X-ray results into the health center's PACS: each reading's SR, and its heat map once made.

``deliver`` handles one ``center-notify`` notice. A done study whose center has a PACS destination gets its
structured report and, when the heat-map step has stored one, the heat map as a Secondary Capture. The
sender never stores an object twice: each delivered SOP Instance UID is written to a ledger (records table,
``PACS#<center>``) after the PACS confirmed it, and skipped on any later delivery of the notice; the UIDs
are stable per reading, so even a crash between the store and the ledger write gives the PACS the same
instance again (which it keeps once). A PACS that is down raises TransientError: the message is retried
and, past its receive count, lands in the DLQ. Every object stored is audited. Pure: ports in.
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Callable
from typing import Protocol

import pydicom
from pydicom import Dataset
from pydicom.errors import InvalidDicomError

from chalicelib.errors import ConditionFailed, ObjectMissing, PermanentError, TransientError
from chalicelib.models.pacs import PacsDelivered, PacsDestination
from chalicelib.models.xray import Study, StudyNotice, StudyStatus
from chalicelib.ports import ObjectStore, Table
from chalicelib.services.audit import AuditLog
from chalicelib.services.xray.dicom import heatmap_capture, structured_report, with_original_uids
from chalicelib.services.xray.heatmap_legend import labelled_heatmap
from chalicelib.services.xray.studies import XrayStudies

logger = logging.getLogger(__name__)
HEATMAP_WAIT_S = 120  # how long after a reading its heat map may still be coming (the step after)
# The reader makes the heat maps right after notifying the batch's readings: a short wait here usually sees
# it, instead of a retry one visibility timeout (minutes) later.
HEATMAP_POLL_S = 10.0
_HEADER_BYTES = 256 * 1024  # an image's header (and its UIDs) comes before its pixel data


class DicomSender(Protocol):
    def store(self, destination: PacsDestination, dataset: Dataset) -> int:
        """Store ``dataset`` (C-STORE or STOW-RS); returns the DICOM status; TransientError when not stored."""
        ...


class HeatmapPending(TransientError):
    """The reading is delivered; its heat map is not made yet: retry the notice later."""


class PacsDelivery:
    def __init__(self, studies: XrayStudies, store: ObjectStore, ledger: Table, audit: AuditLog,
                 sender: DicomSender, destination_of: Callable[[str], PacsDestination | None], *,
                 clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep,
                 heatmap_wait_s: float = HEATMAP_WAIT_S, heatmap_poll_s: float | None = None) -> None:
        self._studies = studies
        self._store = store
        self._ledger = ledger
        self._audit = audit
        self._sender = sender
        self._destination_of = destination_of
        self._clock = clock
        self._sleep = sleep
        self._heatmap_wait_s = heatmap_wait_s
        self._heatmap_poll_s = HEATMAP_POLL_S if heatmap_poll_s is None else heatmap_poll_s

    def deliver(self, notice: StudyNotice) -> list[PacsDelivered]:
        """The objects stored in the PACS by this call (already delivered ones are skipped)."""
        if notice.status is not StudyStatus.DONE:
            return []
        destination = self._destination_of(notice.center_id)
        if destination is None:
            return []
        study = self._studies.find(notice.study_id)
        if study is None or study.center_id != notice.center_id or study.reading is None:
            return []
        if study.reading.deid_key is None:  # no DICOM source (PNG/JPEG upload, or a withheld copy)
            logger.info("no DICOM source to attach results to", extra={"study_id": study.study_id})
            return []
        try:
            source: Dataset = pydicom.dcmread(io.BytesIO(self._store.get(study.reading.deid_key)))
        except ObjectMissing:
            return []
        variant = ""
        if destination.original_uids:
            original = self._original(study)
            if original is not None:
                source, variant = with_original_uids(source, original), "original"
        delivered: list[PacsDelivered] = []
        sr = self._send_once(study, "sr", structured_report(study, source, variant=variant), destination)
        delivered += [sr] if sr else []
        study = self._with_heatmap(study)
        assert study.reading is not None
        if study.reading.heatmap_key is not None:
            picture = _with_legend(self._store.get(study.reading.heatmap_key), study)
            capture = heatmap_capture(study, source, picture, variant=variant)
            sc = self._send_once(study, "heatmap", capture, destination)
            delivered += [sc] if sc else []
        elif self._clock() * 1000 - study.reading.completed_ms < self._heatmap_wait_s * 1000:
            raise HeatmapPending(f"study {study.study_id}: heat map not made yet")
        return delivered

    def _original(self, study: Study) -> Dataset | None:
        """The uploaded image's header (its UIDs), for a center that files results under the original UIDs; read
        at delivery and never stored. None (the de-identified UIDs are used) when the upload is gone or unreadable."""
        key = study.source.key if study.source else study.upload_key
        reads: list[Callable[[], bytes]] = [lambda: self._store.get_range(key, 0, _HEADER_BYTES - 1),
                                            lambda: self._store.get(key)]
        for read in reads:
            try:
                return pydicom.dcmread(io.BytesIO(read()), stop_before_pixels=True)
            except ObjectMissing:
                break
            except (InvalidDicomError, EOFError, ValueError, OSError):
                continue  # the header runs past the first range: read it whole
        logger.warning("original UIDs unavailable: results use the de-identified ones", extra={"study_id": study.study_id})
        return None

    def _with_heatmap(self, study: Study) -> Study:
        """The study again once its heat map is stored, polling briefly; as it was when that takes longer."""
        deadline = self._clock() + self._heatmap_poll_s
        while study.reading is not None and study.reading.heatmap_key is None and self._clock() < deadline:
            self._sleep(0.2)
            study = self._studies.find(study.study_id) or study
        return study

    def _send_once(self, study: Study, kind: str, dataset: Dataset, destination: PacsDestination) -> PacsDelivered | None:
        key = {"pk": f"PACS#{study.center_id}", "sk": str(dataset.SOPInstanceUID)}
        if self._ledger.get(key) is not None:
            return None
        where = destination.where
        try:
            status = self._sender.store(destination, dataset)
        except TransientError as exc:
            self._audit.append("pacs.delivery", actor="pacs-delivery", result="failed", subject=study.study_id,
                               details={"kind": kind, "destination": where, "error": str(exc)})
            raise
        record = PacsDelivered(center_id=study.center_id, study_id=study.study_id, kind=kind,
                               sop_instance_uid=str(dataset.SOPInstanceUID), destination=where, status=status,
                               delivered_ms=int(self._clock() * 1000))
        try:
            self._ledger.put({**key, **record.model_dump(mode="json")}, if_absent=True)
        except ConditionFailed:  # a concurrent delivery of the same notice recorded it first
            return None
        self._audit.append("pacs.delivery", actor="pacs-delivery", subject=study.study_id,
                           details=record.model_dump(mode="json"))
        return record


def _with_legend(overlay_png: bytes, study: Study) -> bytes:
    """The overlay with its Korean legend (a PACS viewer shows only the picture); bare without a Korean font."""
    assert study.reading is not None
    try:
        return labelled_heatmap(overlay_png, study.reading, locale="ko")
    except PermanentError:
        logger.warning("no Korean font: the heat map goes to the PACS without its legend")
        return overlay_png
