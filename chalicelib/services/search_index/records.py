"""One record per person track and footage segment, and where the records of a camera-hour live.

Keys: ``search-index/<model>@<version>/<camera>/<YYYY-MM-DD>/<HH>/part-<segment start ms>.parquet`` (one
per indexed segment, possibly empty: an empty part still says "indexed, nobody seen") and ``hour.parquet``
once the hour is compacted. The model and its version come first, so records of different re-id models
are never read together: a re-index writes a new tree and a search reads only its own model's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
from numpy.typing import NDArray

INDEX_PREFIX = "search-index"
HOUR_MS = 3_600_000
PathPoint = tuple[int, float, float, float, float]  # (time ms, x1, y1, x2, y2)


@dataclass(frozen=True)
class ModelTag:
    """The re-identification model that embedded a record (name and registry version)."""

    name: str
    version: str

    @property
    def slug(self) -> str:
        return f"{self.name}@{self.version}"


@dataclass(frozen=True)
class TrackRecord:
    camera_id: str
    segment_start_ms: int
    track_id: int  # within its segment
    start_ms: int
    end_ms: int
    best_ms: int  # the sighting whose crop is the thumbnail
    path: tuple[PathPoint, ...]  # the box at every sampled frame of the track
    embedding: NDArray[np.float32] = field(repr=False)  # representative re-id embedding, L2-normalised
    upper: tuple[float, ...]  # colour shares in chalicelib.video.colors.COLOR_NAMES order
    lower: tuple[float, ...]
    thumbnail_key: str
    derived: bool = False  # synthetic: derived from a real record with a perturbed embedding (scale tests)


def hour_of(t_ms: int) -> int:
    return t_ms - t_ms % HOUR_MS


def hour_prefix(tag: ModelTag, camera_id: str, t_ms: int) -> str:
    when = datetime.fromtimestamp(hour_of(t_ms) / 1000, tz=UTC)
    return f"{INDEX_PREFIX}/{tag.slug}/{camera_id}/{when:%Y-%m-%d}/{when:%H}/"


def part_key(tag: ModelTag, camera_id: str, segment_start_ms: int) -> str:
    return f"{hour_prefix(tag, camera_id, segment_start_ms)}part-{segment_start_ms}.parquet"


def compacted_key(tag: ModelTag, camera_id: str, t_ms: int) -> str:
    return f"{hour_prefix(tag, camera_id, t_ms)}hour.parquet"


def thumbnail_key(camera_id: str, segment_start_ms: int, track_id: int) -> str:
    return f"{INDEX_PREFIX}/thumbs/{camera_id}/{segment_start_ms}/{track_id}.jpg"


def hours(t1_ms: int, t2_ms: int) -> list[int]:
    """Start of every hour meeting ``[t1, t2)``."""
    return list(range(hour_of(t1_ms), t2_ms, HOUR_MS)) if t2_ms > t1_ms else []
