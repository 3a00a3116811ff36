"""Guardian text messages: what the guardian-sms topic carries, and the local outbox's entries."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.models.common import EpochMs, Message


class GuardianText(BaseModel):
    """A message on the guardian-sms topic (and its queue). Only what sending needs is read: each kind
    of message adds its own context (trip, incident, alert ids) for other subscribers."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    kind: str = Field(max_length=64)
    phone: str = Field(pattern=r"^\+[1-9]\d{7,14}$")
    text: str = Field(min_length=1, max_length=1600)


class OutboxEntry(Message):
    """One text the local outbox adapter recorded instead of sending (no SMS provider locally)."""

    message_id: str
    phone: str
    kind: str
    text: str
    created_ms: EpochMs
