"""The audit trail of the media edge: one record per request that names a video link; noise sampled.

Fed by the edge access-log worker (CloudFront standard logs, :mod:`chalicelib.services.video_links.edge_logs`)
and by the local media edge's ``on_access`` callback.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any

from chalicelib.errors import ConditionFailed, NotFound
from chalicelib.ports import Table
from chalicelib.services.audit import AuditLog
from chalicelib.services.owned import OwnedRecords
from chalicelib.services.video_links.policy import RECORD_KIND, REQUEST_ID, request_id_of

logger = logging.getLogger(__name__)

ACTION_EDGE = "edge.access"
ACTION_EDGE_NOISE = "edge.unattributed"

NOISE_SAMPLE_EVERY = 100
"""Requests that name no link (scanners, expired bookmarks): one record per this many, with the count."""


class NoiseSampler:
    """Counts unattributable refusals and keeps one sampled audit record per ``every`` of them,
    so noise is measured without a 400-day record per request."""

    def __init__(self, audit: AuditLog, action: str, *, every: int = NOISE_SAMPLE_EVERY) -> None:
        self._audit = audit
        self._action = action
        self._every = every
        self._seen = 0
        self._lock = threading.Lock()

    def __call__(self, *, source_ip: str, subject: str, details: Mapping[str, Any]) -> bool:
        """Count one; ``True`` when this one was written (the first and every ``every``-th)."""
        with self._lock:
            self._seen += 1
            seen = self._seen
        if (seen - 1) % self._every:
            return False
        try:
            self._audit.append(self._action, actor="unauthenticated", result="sampled", source_ip=source_ip,
                               subject=subject, details={**details, "sampled_one_in": self._every, "seen": seen})
        except ConditionFailed:
            logger.warning("sampled noise record collided")
        return True


class EdgeAccessAudit:
    """The edge's ``on_access`` callback: one audit record per request that names a link
    (allowed or refused, attributed to the agency whose link it is); requests naming none are
    counted and sampled (:class:`NoiseSampler`)."""

    def __init__(self, audit: AuditLog, records: Table, *, noise_every: int = NOISE_SAMPLE_EVERY) -> None:
        self._audit = audit
        self._records = OwnedRecords(records, RECORD_KIND)
        self._owners: dict[str, tuple[str, str]] = {}
        self._noise = NoiseSampler(audit, ACTION_EDGE_NOISE, every=noise_every)

    def _owner(self, request_id: str) -> tuple[str, str] | None:
        if request_id not in self._owners:
            try:
                body = self._records.get(request_id, None)
            except NotFound:
                return None
            self._owners[request_id] = (str(body.get("owner_id", "unknown")), str(body.get("incident_number", "")))
        return self._owners[request_id]

    def __call__(self, record: Mapping[str, Any]) -> None:
        path = str(record.get("path", ""))
        named = record.get("link")
        request_id = (request_id_of(record.get("resource")) or request_id_of(path)
                      or (named if isinstance(named, str) and REQUEST_ID.match(named) else None))
        status = int(record.get("status", 0))
        details = {"path": path, "status": status, "reason": str(record.get("reason", "")),
                   "bytes": int(record.get("bytes", 0))}
        if request_id is None:
            self._noise(source_ip=str(record.get("client_ip", "")), subject=path, details=details)
            return
        owner = self._owner(request_id)
        try:
            self._audit.append(ACTION_EDGE, actor=owner[0] if owner else f"unknown-link:{request_id}",
                               result="ok" if status < 400 else "denied", source_ip=str(record.get("client_ip", "")),
                               subject=request_id, details={**details, "incident": owner[1] if owner else None})
        except ConditionFailed:  # a uuid collision: practically impossible, never worth a crash
            logger.warning("edge access audit record collided")
