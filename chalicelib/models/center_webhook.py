"""A health center's webhook: its subscription, the secret issued once, and each event POSTed to it."""

from __future__ import annotations

import ipaddress
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from chalicelib.models.common import EpochMs, Instant, Message, Wire
from chalicelib.models.xray import StudyStatus, Triage


class WebhookSubscribe(Message):
    """Body of PUT /v1/xray/webhook. HTTPS; plain HTTP only to a loopback address (a center's local relay)."""

    url: str = Field(max_length=2048, description="Where every reading, rejection and failure is POSTed.")

    @field_validator("url")
    @classmethod
    def _https(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError("an absolute https:// URL is required")
        if parts.scheme == "http":
            try:
                loopback = ipaddress.ip_address(parts.hostname).is_loopback
            except ValueError:
                loopback = parts.hostname == "localhost"
            if not loopback:
                raise ValueError("plain http:// is accepted only for a loopback address; use https://")
        if parts.username or parts.password:
            raise ValueError("the URL may not carry credentials (the signature authenticates us)")
        return value


class WebhookSubscription(Message):
    """What the records table keeps: no secret (it is derived from the platform's key when signing)."""

    center_id: str
    url: str
    key_version: int = Field(ge=1, description="Bumped by every PUT: the previous secret stops being used.")
    created_ms: EpochMs


class WebhookSecretIssued(Message):
    """Answer of PUT /v1/xray/webhook: the signing secret, shown this once."""

    url: str
    key_version: int
    secret: str = Field(description="HMAC-SHA256 key of X-GT-Signature; store it, it is not shown again.")
    signature: str = Field(description="How to verify a delivery.")


class WebhookView(Wire):
    """Answer of GET /v1/xray/webhook."""

    url: str
    key_version: int
    created_at: Instant


WebhookEventType = Literal["xray.study.done", "xray.study.rejected", "xray.study.failed"]
EVENT_TYPES: dict[StudyStatus, WebhookEventType] = {
    StudyStatus.DONE: "xray.study.done", StudyStatus.REJECTED: "xray.study.rejected",
    StudyStatus.FAILED: "xray.study.failed"}
"""The event of each settled status (a pending study is not sent)."""


class WebhookEvent(Message):
    """The JSON body POSTed to a center's webhook: one per settled study (reading, rejection or failure)."""

    delivery_id: str = Field(description="Stable per study outcome: a receiver de-duplicates on it.")
    type: WebhookEventType = Field(description="The outcome: read (done), rejected or failed.")
    study_id: str
    center_id: str
    status: StudyStatus
    triage: Triage | None = None
    positive_findings: list[str] = Field(default_factory=list)
    model: str | None = None
    non_clinical: bool | None = None
    reason_code: str | None = None
    reason: str | None = None
    settled_ms: EpochMs


class WebhookDelivered(Message):
    """The sender's ledger entry (records table, ``WEBHOOK#<center>``): this outcome was accepted (2xx)."""

    delivery_id: str
    study_id: str
    url: str
    http_status: int
    delivered_ms: EpochMs
