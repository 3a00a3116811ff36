"""Append-only audit records (privacy law: every provision of video and every admin act)."""

from __future__ import annotations

from pydantic import Field

from chalicelib.models.common import EpochMs, Message


class AuditRecord(Message):
    record_id: str
    at_ms: EpochMs
    action: str = Field(description="e.g. principal.created, video-link.issued, video-link.denied, edge.access")
    actor: str = Field(description="Principal id, or 'admin-cli' / 'system'.")
    result: str = Field(description="ok | denied | revoked | error")
    source_ip: str | None = None
    subject: str | None = Field(None, description="What the act concerned (principal, incident, link id).")
    details: dict[str, str | int | float | bool | list[str] | None] = Field(default_factory=dict)
