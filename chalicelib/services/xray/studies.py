"""X-ray studies: create with a presigned upload, read (owner only), record outcomes, sweep the stuck.

A study is an owner-scoped record (kind ``STUDY``). While it is pending, a marker item
``pk="XRAY#PENDING", sk="<deadline_ms>#<study_id>"`` lets the sweeper find overdue studies with
one query instead of a scan. Object keys never carry the uploaded file's name, only its extension,
so no patient identity reaches a key, a log line or a reading.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from dataclasses import dataclass
from typing import Any

from chalicelib.errors import ConditionFailed, Conflict, NotFound
from chalicelib.models.common import instant
from chalicelib.models.xray import (
    Reading,
    Reason,
    SourceObject,
    Study,
    StudyCreate,
    StudyCreated,
    StudyLinks,
    StudyStatus,
    StudyView,
    UploadForm,
)
from chalicelib.ports import ObjectStore, Table
from chalicelib.services.owned import OwnedRecords

logger = logging.getLogger(__name__)
KIND = "STUDY"
PENDING_PK = "XRAY#PENDING"
UPLOAD_PREFIX = "uploads/"
_KEY = re.compile(r"^uploads/(?P<center>[a-z0-9-]{3,64})/(?P<study>xr-[0-9a-f]{16})/(?P<name>image\.[a-z]{3,5})$")


@dataclass(frozen=True)
class StudyPolicy:
    max_upload_bytes: int = 50 * 1024 * 1024
    upload_expires_s: int = 900
    read_allowance_s: int = 600
    link_expires_s: int = 900


def parse_upload_key(key: str) -> tuple[str, str] | None:
    """``uploads/<center>/<study_id>/image.<ext>`` → (center_id, study_id); None for anything else."""
    match = _KEY.match(key)
    return (match["center"], match["study"]) if match else None


class XrayStudies:
    def __init__(self, table: Table, store: ObjectStore, policy: StudyPolicy | None = None) -> None:
        self._table = table
        self._records = OwnedRecords(table, KIND)
        self._store = store
        self.policy = policy or StudyPolicy()

    # ---- API side -------------------------------------------------------------------------
    def create(self, center_id: str, body: StudyCreate, *, now_ms: int) -> StudyCreated:
        extension = body.filename.rsplit(".", 1)[-1].lower().replace("dicom", "dcm").replace("jpeg", "jpg")
        study = self._open(center_id, extension, now_ms=now_ms)
        key = study.upload_key
        post = self._store.presigned_post(key, max_bytes=self.policy.max_upload_bytes,
                                          expires_s=self.policy.upload_expires_s)
        return StudyCreated(study_id=study.study_id, status=study.status,
                            upload=UploadForm(url=post.url, fields=post.fields, key=key,
                                              max_bytes=self.policy.max_upload_bytes,
                                              expires_in_s=self.policy.upload_expires_s))

    def receive(self, center_id: str, dicom: bytes, *, now_ms: int) -> Study:
        """A study whose DICOM image came in the request (STOW-RS): stored where a presigned POST puts it,
        so the reader's S3 notification reads it exactly as an uploaded one."""
        study = self._open(center_id, "dcm", now_ms=now_ms)
        self._store.put(study.upload_key, dicom, content_type="application/dicom")
        return study

    def _open(self, center_id: str, extension: str, *, now_ms: int) -> Study:
        study_id = f"xr-{secrets.token_hex(8)}"
        key = f"{UPLOAD_PREFIX}{center_id}/{study_id}/image.{extension}"
        deadline = now_ms + (self.policy.upload_expires_s + self.policy.read_allowance_s) * 1000
        study = Study(study_id=study_id, center_id=center_id, status=StudyStatus.PENDING, upload_key=key,
                      created_ms=now_ms, updated_ms=now_ms, deadline_ms=deadline)
        self._records.create(study_id, center_id, study.model_dump(mode="json"), created_ms=now_ms)
        self._table.put({"pk": PENDING_PK, "sk": _marker(deadline, study_id), "study_id": study_id})
        return study

    def view(self, study_id: str, center_id: str) -> StudyView:
        study = study_from_record(self._records.get(study_id, center_id))
        links = None
        if study.reading is not None:
            expires = self.policy.link_expires_s
            heatmap = study.reading.heatmap_key
            links = StudyLinks(heatmap=self._store.presigned_get(heatmap, expires_s=expires) if heatmap else None,
                               report=self._store.presigned_get(study.reading.report_key, expires_s=expires),
                               expires_in_s=expires)
        return StudyView(study_id=study.study_id, status=study.status, created_at=instant(study.created_ms),
                         updated_at=instant(study.updated_ms), reading=study.reading, reason=study.reason, links=links)

    def owned(self, study_id: str, center_id: str) -> Study:
        """The study as its center may read it (another center's is NotFound, like a missing one)."""
        return study_from_record(self._records.get(study_id, center_id))

    # ---- worker side ----------------------------------------------------------------------
    def get(self, study_id: str) -> Study:
        return study_from_record(self._records.get(study_id, None))

    def find(self, study_id: str) -> Study | None:
        try:
            return self.get(study_id)
        except NotFound:
            return None

    def find_many(self, study_ids: list[str]) -> dict[str, Study]:
        """The studies of those ids that exist (a batch of uploads' studies in one read)."""
        return {study_id: study_from_record(body) for study_id, body in self._records.get_many(study_ids).items()}

    def complete(self, study: Study, reading: Reading, source: SourceObject, *, now_ms: int) -> Study:
        return self._settle(study, StudyStatus.DONE, now_ms=now_ms, reading=reading, source=source)

    def reject(self, study: Study, reason: Reason, source: SourceObject | None, *, now_ms: int) -> Study:
        return self._settle(study, StudyStatus.REJECTED, now_ms=now_ms, reason=reason, source=source)

    def fail(self, study: Study, reason: Reason, *, now_ms: int) -> Study:
        return self._settle(study, StudyStatus.FAILED, now_ms=now_ms, reason=reason, source=study.source)

    def add_heatmap(self, study: Study, reading: Reading, *, now_ms: int) -> Study:
        """A done study's reading with its heat map added (the step after the reading): still done."""
        updated = study.model_copy(update={"updated_ms": now_ms, "reading": reading})
        return self._write(updated, expect=StudyStatus.DONE)

    def _settle(self, study: Study, status: StudyStatus, *, now_ms: int, reading: Reading | None = None,
                reason: Reason | None = None, source: SourceObject | None = None) -> Study:
        """Pending → final, once: a conditional write, so a racing writer gets ``Conflict``."""
        settled = study.model_copy(update={"status": status, "updated_ms": now_ms, "reading": reading,
                                           "reason": reason, "source": source})
        return self._write(settled, expect=StudyStatus.PENDING)

    def _write(self, settled: Study, *, expect: StudyStatus) -> Study:
        study, reading = settled, settled.reading
        item = {**settled.model_dump(mode="json"), "pk": f"{KIND}#{study.study_id}", "sk": "record",
                "owner_id": study.center_id, "created_ms": study.created_ms}
        if reading is not None:  # one opaque JSON attribute: cheaper to write and read than a deep map
            item["reading"] = reading.model_dump_json()
        try:  # one conditional write; the pending marker is left for the sweeper to drop when it falls due
            self._table.put(item, expect={"status": expect.value})
        except ConditionFailed as exc:
            raise Conflict(f"study {study.study_id} is no longer {expect.value}") from exc
        return settled

    def overdue(self, now_ms: int, *, limit: int = 500) -> list[str]:
        items = self._table.query("pk", PENDING_PK, sort_between=("0", f"{now_ms:013d}#~"), limit=limit)
        return [str(item["study_id"]) for item in items]

    def sweep(self, now_ms: int) -> list[Study]:
        """Fail every study still pending past its deadline, saying why."""
        failed = []
        for study_id in self.overdue(now_ms):
            study = self.find(study_id)
            if study is None or study.status is not StudyStatus.PENDING:
                if study is not None:
                    self._table.delete({"pk": PENDING_PK, "sk": _marker(study.deadline_ms, study_id)})
                continue
            uploaded = any(True for _ in self._store.keys(f"{UPLOAD_PREFIX}{study.center_id}/{study_id}/"))
            if uploaded:
                reason = Reason(code="read_deadline_passed",
                                message="the image was uploaded but no reading was produced before the deadline; "
                                        "the upload is kept and the failure is in the reader's dead-letter queue")
            else:
                reason = Reason(code="upload_missing",
                                message=f"no image was uploaded within {self.policy.upload_expires_s} s of creating the "
                                        "study (the upload link has expired); create a new study")
            try:
                failed.append(self.fail(study, reason, now_ms=now_ms))
            except Conflict:
                continue  # settled meanwhile
        return failed


def study_from_record(body: dict[str, Any]) -> Study:
    """A study from its stored record's body (the reading is one JSON attribute)."""
    values = {k: v for k, v in body.items() if k != "owner_id"}
    if isinstance(values.get("reading"), str):
        values["reading"] = json.loads(values["reading"])
    return Study.model_validate(values)


def _marker(deadline_ms: int, study_id: str) -> str:
    return f"{deadline_ms:013d}#{study_id}"
