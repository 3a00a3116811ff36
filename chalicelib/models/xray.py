"""X-ray studies: the API bodies, the stored study with its reading, the upload reference, the notice."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import Field

from chalicelib.models.common import EpochMs, Instant, Message, Wire

UPLOAD_EXTENSIONS = ("dcm", "dicom", "png", "jpg", "jpeg")


class StudyStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"
    REJECTED = "rejected"
    FAILED = "failed"


class Triage(StrEnum):
    URGENT = "urgent"
    ABNORMAL = "abnormal"
    NORMAL = "normal"


class StudyCreate(Message):
    """Body of POST /v1/xray/studies. Only the file's extension is kept (names can carry identity)."""

    filename: str = Field("image.dcm", min_length=3, max_length=128,
                          pattern=r"(?i)^[^/\\\x00-\x1f]*\.(dcm|dicom|png|jpg|jpeg)$",
                          description="Name of the file to upload; its extension must be .dcm, .png or .jpg.")


class UploadForm(Message):
    url: str
    fields: dict[str, str]
    key: str
    max_bytes: int
    expires_in_s: int


class StudyCreated(Message):
    study_id: str
    status: StudyStatus
    upload: UploadForm


class Reason(Message):
    code: str = Field(description="Stable machine code, e.g. not_an_image, colour_photo, read_deadline_passed.")
    message: str


class ModelInfo(Message):
    name: str
    version: str
    clinical: bool
    providers: list[str] = Field(default_factory=list)


class Finding(Message):
    label: str
    score: float = Field(ge=0, le=1)
    threshold: float = Field(ge=0, le=1)
    positive: bool


class Timings(Message):
    """Milliseconds per stage; ``total_ms`` runs from the upload notification to the stored reading."""

    queue_wait_ms: float
    fetch_ms: float
    decode_ms: float
    quality_ms: float
    preprocess_ms: float
    inference_ms: float
    heatmap_ms: float
    store_ms: float
    total_ms: float
    batch_size: int = Field(ge=1, description="Images scored by the same batched inference.")


class ImageInfo(Message):
    format: str
    width: int
    height: int
    bits: int
    photometric: str


class Reading(Message):
    model: ModelInfo
    findings: list[Finding]
    triage: Triage
    image: ImageInfo
    heatmap_key: str | None = Field(None, description="Added by the heat-map step, after the reading is stored.")
    heatmap_method: str | None = Field(None, description="How the heat map was made (class activation map, occlusion).")
    report_key: str
    deid_key: str | None = None
    deid_withheld: str | None = Field(None, description="Why no de-identified copy was released (burned-in text).")
    review_required: bool = Field(False, description="The study needs a person's review before any copy is shared.")
    timings: Timings
    completed_ms: EpochMs


class SourceObject(Message):
    """The uploaded object a result belongs to (what idempotency is keyed on)."""

    bucket: str
    key: str
    etag: str
    version_id: str | None = None


class Study(Message):
    study_id: str
    center_id: str
    status: StudyStatus
    upload_key: str
    created_ms: EpochMs
    updated_ms: EpochMs
    deadline_ms: EpochMs = Field(description="A study still pending after this is failed by the sweeper.")
    reading: Reading | None = None
    reason: Reason | None = None
    source: SourceObject | None = None


class StudyLinks(Message):
    heatmap: str | None = None
    report: str
    expires_in_s: int


class ReadingView(Wire):
    """A reading as the health center sees it (its files through ``links``; the bucket keys stay inside)."""

    model: ModelInfo
    findings: list[Finding]
    triage: Triage
    image: ImageInfo
    heatmap_method: str | None = Field(None, description="How the heat map was made (class activation map, occlusion).")
    deid_withheld: str | None = Field(None, description="Why no de-identified copy was released (burned-in text).")
    review_required: bool = Field(False, description="The study needs a person's review before any copy is shared.")
    timings: Timings
    completed_at: Instant


class StudyView(Wire):
    """Body of GET /v1/xray/studies/{id}."""

    study_id: str
    status: StudyStatus
    created_at: Instant
    updated_at: Instant
    reading: ReadingView | None = None
    reason: Reason | None = None
    links: StudyLinks | None = None


class XrayUpload(Message):
    """One S3 object-created notification, as the reader receives it through SQS."""

    bucket: str
    key: str
    etag: str
    version_id: str | None = None
    size: int = 0
    sent_ms: EpochMs = 0
    receive_count: int = 1


class StudyNotice(Message):
    """Published on the center-notify topic (attribute ``center_id`` for per-center subscriptions)."""

    type: str = "xray.study.completed"
    study_id: str
    center_id: str
    status: StudyStatus
    triage: Triage | None = None
    reason_code: str | None = None


class StudyListQuery(Message):
    """Query of GET /v1/xray/studies: the caller's own studies, newest first."""

    status: StudyStatus | None = Field(None, description="Only studies in this state.")
    since: Instant | None = Field(None, description="Only studies created at or after this time.")
    limit: int = Field(50, ge=1, le=200)
    cursor: str | None = Field(None, max_length=4096, description="next_cursor of the previous page (opaque).")


class StudySummary(Wire):
    study_id: str
    status: StudyStatus
    created_at: Instant
    updated_at: Instant
    triage: Triage | None = None
    positive_findings: list[str] = Field(default_factory=list)
    model: str | None = Field(None, description="The reading's model, name and version.")
    reason_code: str | None = None


class StudyList(Message):
    """Body of GET /v1/xray/studies."""

    studies: list[StudySummary]
    next_cursor: str | None = Field(None, description="Pass as ``cursor`` for the next page; absent on the last.")


class ReportQuery(Message):
    """Query of GET /v1/xray/studies/{id}/report."""

    lang: Literal["ko", "en"] = Field("ko", description="The report's language (Korean by default).")
