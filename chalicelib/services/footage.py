"""The footage catalog: recorded CCTV video as fixed-length HLS segments, indexed by camera and time.

Each segment is one MPEG-TS object in the footage bucket (``footage/<camera>/<start_ms>.ts``)
and one row in the footage table (partition ``camera_id``, sort ``start_ms``) whose
``expires_at`` (epoch seconds) is the segment's end plus the retention period. In the cloud
DynamoDB TTL and the bucket's lifecycle rule expire both; :meth:`FootageCatalog.enforce_retention`
does the same explicitly, so the privacy policy holds wherever the code runs.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path
from typing import Any

from chalicelib.clock import now_ms
from chalicelib.errors import PermanentError, ValidationFailed
from chalicelib.models.footage import FootageSegment
from chalicelib.ports import ObjectStore, Table
from chalicelib.settings import Settings
from chalicelib.video import hls
from chalicelib.video.segmenter import CONTENT_TYPE, iter_segments, probe

logger = logging.getLogger(__name__)

DAY_MS = 86_400_000
# Longest segment ever stored (Settings allows up to 60 s, plus rounding to whole frames), so a
# window query still finds a segment that started before the window even after the setting changes.
MAX_SEGMENT_MS = 61_000
_CAMERA_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_ROW_FIELDS = tuple(FootageSegment.model_fields)


class FootageExpired(ValidationFailed, PermanentError):
    """The footage is older than the retention period, so it may not be stored."""

    status, code = 422, "footage_expired"


def _epoch_ms() -> int:
    return now_ms()


def segment_key(camera_id: str, start_ms: int) -> str:
    return f"footage/{camera_id}/{start_ms}.ts"


class FootageCatalog:
    def __init__(self, store: ObjectStore, table: Table, *, retention_days: int, segment_seconds: float,
                 preset: str = "veryfast", max_width: int | None = None,
                 clock: Callable[[], int] = _epoch_ms) -> None:
        if retention_days < 1:
            raise ValueError("retention_days must be at least 1")
        self._store = store
        self._table = table
        self._retention_ms = retention_days * DAY_MS
        self._segment_seconds = segment_seconds
        self._preset = preset
        self._max_width = max_width
        self._clock = clock

    @classmethod
    def from_settings(cls, store: ObjectStore, table: Table, settings: Settings, **kwargs: Any) -> FootageCatalog:
        return cls(store, table, retention_days=settings.footage_retention_days,
                   segment_seconds=settings.segment_seconds, **kwargs)

    # ---- writing -------------------------------------------------------------------------

    def ingest(self, camera_id: str, video_path: str | Path, start_ms: int,
               now_ms: int | None = None) -> list[FootageSegment]:
        """Segment a recording whose first frame was shot at ``start_ms`` and catalog it.

        Segments already past retention are not stored; if that is all of them the call raises
        :class:`FootageExpired` (checked before transcoding when the container states its
        duration). Re-ingesting the same recording overwrites the same keys and rows.
        """
        now = self._clock() if now_ms is None else now_ms
        if not _CAMERA_ID.match(camera_id):
            raise ValidationFailed(f"bad camera id {camera_id!r}")
        if start_ms < 0:
            raise ValidationFailed("start_ms must be a non-negative epoch time")
        duration_s = probe(video_path).duration_s
        if duration_s is not None and self._expired(self.expires_at(start_ms + round(duration_s * 1000)), now):
            raise FootageExpired(f"footage of {camera_id} from {start_ms} is older than the retention period")

        stored: list[FootageSegment] = []
        rows: list[dict[str, Any]] = []
        for encoded in iter_segments(video_path, segment_seconds=self._segment_seconds, preset=self._preset,
                                     max_width=self._max_width, start_time_s=start_ms / 1000):
            seg_start = start_ms + round(encoded.start_s * 1000)
            seg_end = start_ms + round(encoded.end_s * 1000)
            expires_at = self.expires_at(seg_end)
            if self._expired(expires_at, now):
                continue
            segment = FootageSegment(camera_id=camera_id, start_ms=seg_start, end_ms=seg_end,
                                     key=segment_key(camera_id, seg_start), fps=encoded.fps, width=encoded.width,
                                     height=encoded.height, bytes=encoded.size,
                                     sha256=hashlib.sha256(encoded.data).hexdigest())
            self._store.put(segment.key, encoded.data, content_type=CONTENT_TYPE,
                            metadata={"camera-id": camera_id, "start-ms": str(seg_start), "end-ms": str(seg_end)})
            stored.append(segment)
            rows.append({**segment.model_dump(), "expires_at": expires_at})
        if not stored:
            raise FootageExpired(f"footage of {camera_id} from {start_ms} is older than the retention period")
        self._table.put_many(rows)  # rows after objects: a row never points at a missing object
        logger.info("footage ingested", extra={"camera_id": camera_id, "segments": len(stored),
                                               "start_ms": stored[0].start_ms, "end_ms": stored[-1].end_ms})
        return stored

    # ---- reading -------------------------------------------------------------------------

    def segments_covering(self, camera_id: str, t1_ms: int, t2_ms: int) -> list[FootageSegment]:
        """Segments meeting ``[t1, t2)`` in time order (``t1 == t2``: the one holding that instant)."""
        if t2_ms < t1_ms:
            raise ValidationFailed("the window ends before it starts")
        rows = self._table.query("camera_id", camera_id, sort_between=(max(0, t1_ms - MAX_SEGMENT_MS), t2_ms))
        return hls.clip((self._segment(row) for row in rows), t1_ms, t2_ms)

    def has_footage(self, camera_id: str, t1_ms: int, t2_ms: int, *, complete: bool = False) -> bool:
        """Whether any footage meets ``[t1, t2)``; with ``complete``, whether it covers the window
        without gaps."""
        segments = self.segments_covering(camera_id, t1_ms, t2_ms)
        if not complete or not segments:
            return bool(segments)
        if segments[0].start_ms > t1_ms or segments[-1].end_ms < t2_ms:
            return False
        return all(hls.contiguous(a, b) for a, b in pairwise(segments))

    # ---- retention -----------------------------------------------------------------------

    def expires_at(self, end_ms: int) -> int:
        """Epoch seconds (DynamoDB TTL) at which footage ending at ``end_ms`` must be gone."""
        return math.ceil((end_ms + self._retention_ms) / 1000)

    def enforce_retention(self, now_ms: int | None = None) -> int:
        """Delete every segment (object, then row) whose retention has run out; returns how many."""
        now = self._clock() if now_ms is None else now_ms
        deleted = 0
        for row in self._table.scan():
            expires_at = row.get("expires_at")
            if expires_at is None or not self._expired(int(expires_at), now):
                continue
            self._store.delete(str(row["key"]))
            self._table.delete({"camera_id": row["camera_id"], "start_ms": row["start_ms"]})
            deleted += 1
        logger.info("footage retention enforced", extra={"expired": deleted, "now_ms": now})
        return deleted

    @staticmethod
    def _expired(expires_at: int, now_ms: int) -> bool:
        return expires_at * 1000 <= now_ms

    @staticmethod
    def _segment(row: dict[str, Any]) -> FootageSegment:
        return FootageSegment.model_validate({k: row[k] for k in _ROW_FIELDS if k in row})
