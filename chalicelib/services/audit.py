"""The audit log: append-only, one partition per UTC day, conditional writes so nothing is overwritten."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.models.audit import AuditRecord
from chalicelib.ports import Table

RETENTION_DAYS = 400  # ≥ 1 year, as the privacy policy requires


def _day(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d")


class AuditLog:
    def __init__(self, table: Table, *, clock: Callable[[], float] = time.time) -> None:
        self._table = table
        self._clock = clock

    def append(self, action: str, *, actor: str, result: str = "ok", source_ip: str | None = None,
               subject: str | None = None, details: dict[str, Any] | None = None) -> AuditRecord:
        at_ms = int(self._clock() * 1000)
        record = AuditRecord(record_id=uuid.uuid4().hex, at_ms=at_ms, action=action, actor=actor, result=result,
                             source_ip=source_ip, subject=subject, details=details or {})
        item = {"pk": f"AUDIT#{_day(at_ms)}", "sk": f"{at_ms:013d}#{record.record_id}",
                "expires_at": at_ms // 1000 + RETENTION_DAYS * 86400, **record.model_dump(mode="json")}
        self._table.put(item, if_absent=True)
        return record

    def records(self, *, since_ms: int, until_ms: int | None = None) -> Iterator[AuditRecord]:
        """Records in time order between the two instants (default: until now)."""
        until = until_ms if until_ms is not None else int(self._clock() * 1000)
        day = datetime.fromtimestamp(since_ms / 1000, UTC).date()
        while day <= datetime.fromtimestamp(until / 1000, UTC).date():
            items = self._table.query("pk", f"AUDIT#{day.isoformat()}",
                                      sort_between=(f"{since_ms:013d}", f"{until:013d}~"))
            for item in items:
                yield AuditRecord.model_validate({k: v for k, v in item.items() if k not in {"pk", "sk", "expires_at"}})
            day += timedelta(days=1)
