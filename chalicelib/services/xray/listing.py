"""A center's studies, newest first, filtered and paged with an opaque cursor.

Studies are listed from the records table's ``by-owner`` index (owner = the center, sorted by creation
time), so a center only ever sees its own. The cursor is the creation time of the page's last study and the
ids already listed at that exact millisecond (several studies can share one): the next page reads up to
that time again and skips those. It is opaque to clients (base64url JSON) and tamper-harmless: it can only
move within the caller's own studies.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from chalicelib.errors import BadRequest
from chalicelib.models.common import epoch_ms, instant
from chalicelib.models.xray import Study, StudyList, StudyListQuery, StudySummary
from chalicelib.ports import Table
from chalicelib.services.xray.studies import KIND, study_from_record

_MAX_MS = 10**15
_CHUNK = 100


@dataclass
class _Position:
    upper_ms: int = _MAX_MS
    seen: set[str] = field(default_factory=set)  # ids at ``upper_ms`` already passed

    def encode(self) -> str:
        raw = json.dumps({"t": self.upper_ms, "k": sorted(self.seen)}, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, cursor: str) -> _Position:
        try:
            raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
            upper, seen = int(raw["t"]), [str(k) for k in raw["k"]]
        except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
            raise BadRequest("cursor is not one this API issued (pass next_cursor unchanged)") from exc
        if not 0 <= upper <= _MAX_MS:
            raise BadRequest("cursor is not one this API issued (pass next_cursor unchanged)")
        return cls(upper, set(seen))

    def passed(self, study_id: str, created_ms: int) -> None:
        if created_ms != self.upper_ms:
            self.upper_ms, self.seen = created_ms, set()
        self.seen.add(study_id)


class StudyListing:
    def __init__(self, table: Table) -> None:
        self._table = table

    def page(self, center_id: str, query: StudyListQuery) -> StudyList:
        position = _Position.decode(query.cursor) if query.cursor else _Position()
        since = 0 if query.since is None else epoch_ms(query.since)
        found: list[Study] = []
        chunk = _CHUNK
        while since <= position.upper_ms:
            items = self._table.query("owner_id", center_id, index="by-owner", descending=True, limit=chunk,
                                      sort_between=(since, position.upper_ms))
            fresh = [i for i in items if not (int(i["created_ms"]) == position.upper_ms
                                              and _id(i) in position.seen)]
            if not fresh and len(items) == chunk:  # one millisecond holds more than a chunk: read wider
                chunk *= 2
                continue
            for item in fresh:
                if not str(item.get("pk", "")).startswith(f"{KIND}#"):
                    continue
                study = _parse(item)
                if study is None or (query.status is not None and study.status is not query.status):
                    continue
                if len(found) == query.limit:  # one more exists: this page is full
                    return StudyList(studies=[_summary(s) for s in found], next_cursor=position.encode())
                found.append(study)
                position.passed(study.study_id, study.created_ms)
            if len(items) < chunk:
                break
            last_ms = int(items[-1]["created_ms"])  # read on from there: everything read at it is passed
            for item in items:
                if int(item["created_ms"]) == last_ms:
                    position.passed(_id(item), last_ms)
        return StudyList(studies=[_summary(s) for s in found], next_cursor=None)


def _id(item: dict[str, Any]) -> str:
    return str(item.get("pk", "")).split("#", 1)[-1]


def _parse(item: dict[str, Any]) -> Study | None:
    try:
        return study_from_record({k: v for k, v in item.items() if k not in {"pk", "sk"}})
    except (ValidationError, ValueError):
        return None


def _summary(study: Study) -> StudySummary:
    reading = study.reading
    return StudySummary(
        study_id=study.study_id, status=study.status, created_at=instant(study.created_ms),
        updated_at=instant(study.updated_ms),
        triage=reading.triage if reading else None,
        positive_findings=[f.label for f in reading.findings if f.positive] if reading else [],
        model=f"{reading.model.name} {reading.model.version}" if reading else None,
        reason_code=study.reason.code if study.reason else None)
