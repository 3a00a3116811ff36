"""Archive of the audit log in the Object-Lock bucket: one JSON-lines object per closed UTC hour.

The table is the queryable log; the archive is the tamper-proof copy the privacy law asks for
(the bucket's compliance-mode Object Lock keeps every object for its retention). An hour is
archived once it has closed plus a grace period; an hour already archived is never rewritten.
"""

from __future__ import annotations

from datetime import UTC, datetime

from chalicelib.errors import ObjectMissing
from chalicelib.ports import ObjectStore
from chalicelib.services.audit import AuditLog

HOUR_MS = 3_600_000
GRACE_MS = 5 * 60_000  # late writers (edge accesses in flight) settle first


def archive_key(hour_start_ms: int) -> str:
    moment = datetime.fromtimestamp(hour_start_ms / 1000, UTC)
    return f"audit/{moment:%Y/%m/%d}/{moment:%H}.jsonl"


class AuditArchive:
    def __init__(self, log: AuditLog, store: ObjectStore) -> None:
        self._log = log
        self._store = store

    def archive_closed_hours(self, now_ms: int, *, lookback_hours: int = 48) -> list[str]:
        """Archive every closed hour in the lookback that has no archive object yet; returns the keys written."""
        last_closed = (now_ms - GRACE_MS) // HOUR_MS * HOUR_MS - HOUR_MS
        written = []
        for hour in range(last_closed - (lookback_hours - 1) * HOUR_MS, last_closed + HOUR_MS, HOUR_MS):
            key = archive_key(hour)
            try:
                self._store.head(key)
                continue  # archived already: objects are immutable
            except ObjectMissing:
                pass
            records = list(self._log.records(since_ms=hour, until_ms=hour + HOUR_MS - 1))
            if not records:
                continue
            body = "".join(r.model_dump_json() + "\n" for r in records).encode()
            self._store.put(key, body, content_type="application/x-ndjson",
                            metadata={"records": str(len(records)),
                                      "hour": datetime.fromtimestamp(hour / 1000, UTC).isoformat()})
            written.append(key)
        return written
