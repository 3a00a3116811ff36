"""A search query against indexed track records: appearance and colour scores, best tracks per camera.

Scores are the search's own (:mod:`chalicelib.services.search.scoring`): cosine similarity of the record's
representative embedding to the best photo, the clothing-colour match of its mean colour shares, combined
with the same weights; only records whose track meets the camera's part of the cone count.
"""

from __future__ import annotations

import heapq
import threading
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from chalicelib.models.search import Box, SearchQuery, Sighting, Track
from chalicelib.services.search.scoring import APPEARANCE_WEIGHT
from chalicelib.services.search_index.parquet import RANKING_COLUMNS, Partition
from chalicelib.services.search_index.records import ModelTag, PathPoint, TrackRecord
from chalicelib.services.search_index.store import IndexStore
from chalicelib.video import colors

Window = tuple[int, int]  # [from, to) ms of a camera's part of the cone


def _scores(partition: Partition, query: SearchQuery, vectors: NDArray[np.float32]) -> tuple[
        NDArray[np.float32], NDArray[np.float32] | None, NDArray[np.float32] | None]:
    """(combined, appearance, colour) for every row of a partition."""
    n = len(partition)
    look = None
    if len(vectors):
        embeddings = partition.matrix("embedding").astype(np.float32)
        look = np.clip((embeddings @ vectors.T).max(axis=1), 0.0, 1.0).astype(np.float32)
    parts = []
    if query.upper_color is not None:
        parts.append(colors.match_many(partition.matrix("upper"), query.upper_color))
    if query.lower_color is not None:
        parts.append(colors.match_many(partition.matrix("lower"), query.lower_color))
    color = np.mean(parts, axis=0).astype(np.float32) if parts else None
    if look is not None and color is not None:
        combined = APPEARANCE_WEIGHT * look + (1 - APPEARANCE_WEIGHT) * color
    else:
        combined = look if look is not None else color if color is not None else np.zeros(n, np.float32)
    return np.asarray(combined, dtype=np.float32), look, color


@dataclass(frozen=True)
class IndexedHit:
    """A ranked track of the index: one person passing a camera, with the box path it was seen on."""

    track: Track
    path: tuple[PathPoint, ...]


@dataclass(frozen=True)
class _Scored:
    score: float
    camera_id: str
    key: str
    row: int
    look: float | None
    color: float | None


@dataclass
class _Candidate:
    record: TrackRecord
    score: float
    look: float | None
    color: float | None


def _continues(earlier: TrackRecord, later: TrackRecord, *, max_gap_ms: int, max_px_per_s: float) -> bool:
    """Whether ``later`` (next segment) is ``earlier``'s person walking on: soon after, a plausible step away,
    about as tall, alike (the same test the decode path's tracks use, plus appearance)."""
    dt = later.start_ms - earlier.end_ms
    if later.segment_start_ms == earlier.segment_start_ms or not 0 < dt <= max_gap_ms:
        return False
    _, ax1, ay1, ax2, ay2 = earlier.path[-1]
    _, bx1, by1, bx2, by2 = later.path[0]
    shift = (((bx1 + bx2) - (ax1 + ax2)) ** 2 + ((by1 + by2) - (ay1 + ay2)) ** 2) ** 0.5 / 2
    ratio = (by2 - by1) / max(ay2 - ay1, 1.0)
    return shift <= max_px_per_s * dt / 1000 + 20 and 0.75 <= ratio <= 1.33 and \
        float(earlier.embedding @ later.embedding) >= 0.6


def _hit(parts: list[_Candidate]) -> IndexedHit:
    best = max(parts, key=lambda c: c.score)
    record, names = best.record, colors.COLOR_NAMES
    at = min(record.path, key=lambda p: abs(p[0] - record.best_ms))
    sighting = Sighting(camera_id=record.camera_id, time_ms=int(at[0]), box=Box(x1=at[1], y1=at[2], x2=at[3], y2=at[4]),
                        score=round(min(1.0, max(0.0, best.score)), 4),
                        appearance=None if best.look is None else round(best.look, 4),
                        color=None if best.color is None else round(best.color, 4),
                        upper=names[int(np.argmax(record.upper))], lower=names[int(np.argmax(record.lower))],
                        thumbnail_key=record.thumbnail_key or None)
    path = tuple(p for c in parts for p in c.record.path)
    track = Track(camera_id=record.camera_id, start_ms=parts[0].record.start_ms, end_ms=parts[-1].record.end_ms,
                  score=sighting.score, best=sighting, sightings=max(1, len(path)))
    return IndexedHit(track, path)


def stitch(candidates: list[_Candidate], *, max_gap_ms: int = 2_500, max_px_per_s: float = 250.0) -> list[IndexedHit]:
    """One hit per person passing: a track cut at a segment boundary is joined to its continuation."""
    chains: list[list[_Candidate]] = []
    for c in sorted(candidates, key=lambda c: (c.record.start_ms, -c.score)):
        open_chain = next((chain for chain in chains
                           if _continues(chain[-1].record, c.record, max_gap_ms=max_gap_ms,
                                         max_px_per_s=max_px_per_s)), None)
        if open_chain is None:
            chains.append([c])
        else:
            open_chain.append(c)
    return [_hit(chain) for chain in chains]


class _Best:
    """The best ``n`` scores seen so far across reader threads: a partition keeps only rows that can still
    make it, so memory stays flat over a day of a hundred cameras."""

    def __init__(self, n: int) -> None:
        self._n = n
        self._heap: list[float] = []
        self._lock = threading.Lock()

    def floor(self) -> float:
        with self._lock:
            return self._heap[0] if len(self._heap) >= self._n else -1.0

    def offer(self, scores: NDArray[np.float32]) -> None:
        best = np.sort(scores)[-self._n:]
        with self._lock:
            for v in best.tolist():
                if len(self._heap) < self._n:
                    heapq.heappush(self._heap, v)
                elif v > self._heap[0]:
                    heapq.heapreplace(self._heap, v)


@dataclass(frozen=True)
class IndexAnswer:
    hits: list[IndexedHit]
    segments: dict[str, frozenset[int]]  # camera → segments the index covers in the window


def search_index(store: IndexStore, tag: ModelTag, windows: Mapping[str, Window], query: SearchQuery, *,
                 segments: Mapping[str, frozenset[int]] | None = None, limit: int = 100) -> IndexAnswer:
    """The best people passing the cameras of ``windows`` (camera → its part of the cone): at most
    ``query.top_k`` per camera and ``limit`` in all, scoring at least ``query.min_score``, best first; with
    what the index covers. ``segments`` (camera → segment starts) limits each camera to those segments (the
    plan's; a segment decoded by a shard is not also answered here).

    One pass over the partitions, reading only the ranking columns: each is scored as it is read and keeps only
    the rows that can still make the best ``3 × limit`` (a person cut by segment boundaries has several records,
    joined afterwards); then the winners' files are read whole for their paths and thumbnails."""
    vectors = np.asarray(query.embeddings, dtype=np.float32).reshape(len(query.embeddings), -1) \
        if query.embeddings else np.zeros((0, 0), np.float32)
    best = _Best(3 * limit)
    wanted = None if segments is None else {c: np.fromiter(v, np.int64) for c, v in segments.items()}

    def visit(camera_id: str, partition: Partition) -> tuple[frozenset[int], list[_Scored]]:
        """Score a partition read with the ranking columns only; keep the rows that can still make it."""
        if not len(partition):
            return partition.segments, []
        lo, hi = windows[camera_id]
        combined, look, color = _scores(partition, query, vectors)
        keep = (combined >= query.min_score) & (partition.column("end_ms") >= lo) & \
            (partition.column("start_ms") < hi)
        if wanted is not None:
            keep &= np.isin(partition.column("segment_start_ms"), wanted.get(camera_id, np.zeros(0, np.int64)))
        keep &= combined >= best.floor()
        rows = np.flatnonzero(keep)
        if len(rows) > 3 * limit:
            rows = rows[np.argpartition(-combined[rows], 3 * limit - 1)[:3 * limit]]
        best.offer(combined[rows])
        return partition.segments, [_Scored(float(combined[r]), camera_id, partition.key, r,
                                            None if look is None else float(look[r]),
                                            None if color is None else float(color[r])) for r in rows.tolist()]

    scanned = store.scan(tag, windows, min(lo for lo, _ in windows.values()), max(hi for _, hi in windows.values()),
                         visit, columns=RANKING_COLUMNS) if windows else {}
    covered = {c: frozenset(s for segs, _ in parts for s in segs) for c, parts in scanned.items()}
    scored = sorted((x for parts in scanned.values() for _, found in parts for x in found),
                    key=lambda x: -x.score)[:3 * limit]
    files = store.load_many(x.key for x in scored)  # the winners' whole records (paths, thumbnails)
    by_camera: dict[str, list[_Candidate]] = {}
    for x in scored:
        if x.key in files:
            by_camera.setdefault(x.camera_id, []).append(
                _Candidate(files[x.key].record(x.row), x.score, x.look, x.color))
    hits: list[IndexedHit] = []
    for candidates in by_camera.values():
        joined = sorted(stitch(candidates), key=lambda h: (-h.track.score, h.track.start_ms))
        hits.extend(joined[:query.top_k])
    hits.sort(key=lambda h: (-h.track.score, h.track.start_ms))
    return IndexAnswer(hits=hits[:limit], segments=covered)
