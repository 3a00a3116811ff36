"""Evidence preservation of recorded exports: segments copied under legal hold, their hashes audited."""

from __future__ import annotations

from typing import Any

from chalicelib.models.video_link import VideoLinkGrant
from chalicelib.ports import Table
from chalicelib.services.audit import AuditLog
from chalicelib.services.footage import FootageCatalog
from chalicelib.services.owned import OwnedRecords
from chalicelib.services.video_links.evidence import EvidenceLocker
from chalicelib.services.video_links.policy import ACTION_PRESERVED, RECORD_KIND

AUDITED_HASHES = 100
"""Exports up to this many segments list every hash in their preservation audit record (larger ones:
the manifest's hash, which pins the held manifest object)."""


class ExportPreserver:
    """Copies a recorded request's segments under its legal hold and audits their SHA-256 manifest:
    the evidence worker, the retention job (first, for anything still pending) and the receipt route."""

    def __init__(self, records: OwnedRecords | Table, footage: FootageCatalog, evidence: EvidenceLocker,
                 audit: AuditLog) -> None:
        self._records = records if isinstance(records, OwnedRecords) else OwnedRecords(records, RECORD_KIND)
        self._footage = footage
        self._evidence = evidence
        self._audit = audit

    def preserve(self, request_id: str) -> int:
        """Idempotent: a request already held (or unknown) is left alone. Returns segments preserved."""
        if self._evidence.status(request_id) != "pending":
            return 0
        body = self._records.get(request_id, None)
        grant = VideoLinkGrant.model_validate({k: v for k, v in body.items() if k in VideoLinkGrant.model_fields})
        if grant.window is None:
            return 0
        segments = [segment for link in grant.links
                    for segment in self._footage.segments_covering(link.camera_id, grant.window.start_ms,
                                                                   grant.window.end_ms)]
        manifest_sha256, manifest = self._evidence.preserve(request_id, grant.incident_number, grant.agency_id,
                                                            segments)
        details: dict[str, Any] = {"incident": grant.incident_number, "manifest_sha256": manifest_sha256,
                                   "segments": len(manifest), "cameras": sorted({e["camera_id"] for e in manifest})}
        if len(manifest) <= AUDITED_HASHES:
            details["sha256"] = [f"{entry['key']}={entry['sha256']}" for entry in manifest]
        self._audit.append(ACTION_PRESERVED, actor=grant.agency_id, result="held", subject=request_id,
                           details=details)
        return len(manifest)

    def preserve_pending(self) -> int:
        """Every export still pending (the retention job runs this before it deletes footage)."""
        return sum(self.preserve(request_id) for request_id in self._evidence.pending())


