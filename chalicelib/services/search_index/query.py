"""A search query against indexed track records: appearance and colour scores, best tracks per camera.

Scores are the search's own (:mod:`chalicelib.services.search.scoring`): cosine similarity of the record's
representative embedding to the best photo, the clothing-colour match of its mean colour shares, combined
with the same weights; only records whose track meets the camera's part of the cone count.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from chalicelib.errors import ObjectMissing
from chalicelib.models.search import Box, SearchQuery, Sighting, Track
from chalicelib.services.search.scoring import APPEARANCE_WEIGHT
from chalicelib.services.search_index.parquet import RANKING_COLUMNS, Partition
from chalicelib.services.search_index.records import ModelTag, PathPoint, TrackRecord
from chalicelib.services.search_index.store import IndexStore
from chalicelib.video import colors

Window = tuple[int, int]  # [from, to) ms of a camera's part of the cone


def _look(embeddings: NDArray[np.float32], vectors: NDArray[np.float32]) -> NDArray[np.float32]:
    """Appearance: cosine similarity to the closest photo, clipped to [0, 1]."""
    return np.asarray(np.clip((embeddings @ vectors.T).max(axis=1), 0.0, 1.0), dtype=np.float32)


def _combine(look: NDArray[np.float32] | None, color: NDArray[np.float32] | None, n: int) -> NDArray[np.float32]:
    if look is not None and color is not None:
        return np.asarray(APPEARANCE_WEIGHT * look + (1 - APPEARANCE_WEIGHT) * color, dtype=np.float32)
    return look if look is not None else color if color is not None else np.zeros(n, np.float32)


_BLOCK = 256  # rows converted to float32 at a time


def _best_products(codes: NDArray[np.int8], vectors: NDArray[np.float32]) -> NDArray[np.float32]:
    """Each code row's largest product with a photo vector, converted a block of rows at a time: converting a
    busy hour's codes at once allocated megabytes, and faulting their pages in cost 8× the conversion itself
    (2.7 against 0.35 ns a value, measured)."""
    out = np.empty(len(codes), np.float32)
    for i in range(0, len(codes), _BLOCK):
        out[i:i + _BLOCK] = (codes[i:i + _BLOCK].astype(np.float32) @ vectors.T).max(axis=1)
    return out


def _appearance(partition: Partition, vectors: NDArray[np.float32]) -> NDArray[np.float32]:
    """Every row's appearance score, from its stored vector."""
    if partition.has("code"):
        products = _best_products(partition.codes(), vectors) * partition.scales()
        return np.asarray(np.clip(products, 0.0, 1.0), dtype=np.float32)
    return _look(partition.vectors(), vectors)  # a file written before the codes: its float16 vectors


def _colour_of(parts: list[Partition], query: SearchQuery) -> NDArray[np.float32] | None:
    """The colour score of every row of ``parts`` (one after another)."""
    scores = []
    for name, wanted in (("upper", query.upper_color), ("lower", query.lower_color)):
        if wanted is not None:
            scores.append(colors.match_many(np.concatenate([p.matrix(name) for p in parts]), wanted))
    if len(scores) < 2:
        return scores[0] if scores else None
    return np.asarray((scores[0] + scores[1]) / 2, dtype=np.float32)


_BATCH_ROWS = 8192


class _Batch:
    """Partitions read, scored together once they hold a few thousand rows: a small file's scoring was mostly
    numpy's cost per call, not per row."""

    def __init__(self, score: Callable[[list[tuple[str, Partition]]], None]) -> None:
        self._score = score
        self._items: list[tuple[str, Partition]] = []
        self._rows = 0
        self._lock = threading.Lock()

    def add(self, camera_id: str, partition: Partition) -> None:
        with self._lock:
            self._items.append((camera_id, partition))
            self._rows += len(partition)
            if self._rows < _BATCH_ROWS:
                return
            items, self._items, self._rows = self._items, [], 0
        self._score(items)

    def flush(self) -> None:
        with self._lock:
            items, self._items, self._rows = self._items, [], 0
        if items:
            self._score(items)


@dataclass(frozen=True)
class IndexedHit:
    """A ranked track of the index: one person passing a camera, with the box path it was seen on."""

    track: Track
    path: tuple[PathPoint, ...]


@dataclass(frozen=True)
class _Pending:
    """Rows of a partition that may make the answer, with their scores."""

    partition: Partition
    rows: NDArray[np.int64]
    score: NDArray[np.float32]
    look: NDArray[np.float32] | None
    color: NDArray[np.float32] | None


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
    make it, so memory stays flat over a day of a hundred cameras. The floor is read without the lock (a stale
    floor is only lower, so it keeps more rows, never fewer): 32 readers asking it per file queued on the lock."""

    def __init__(self, n: int) -> None:
        self._n = n
        self._top = np.zeros(0, np.float32)
        self._floor = -1.0
        self._lock = threading.Lock()

    def floor(self) -> float:
        return self._floor

    def offer(self, scores: NDArray[np.float32]) -> None:
        if not len(scores):
            return
        with self._lock:
            merged = np.concatenate([self._top, scores])
            self._top = merged if len(merged) <= self._n else np.partition(merged, len(merged) - self._n)[-self._n:]
            if len(self._top) >= self._n:
                self._floor = float(self._top.min())


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

    Two passes. The first reads only the ranking columns of every partition and scores them from their codes,
    keeping the rows that can still make the best ``3 × limit`` (a person cut by segment boundaries has several
    records, joined afterwards) against the best seen so far. The second reads the records (paths, thumbnails)
    of the best ``3 × limit`` of all only, from the few hundred files that hold them."""
    vectors = np.asarray(query.embeddings, dtype=np.float32).reshape(len(query.embeddings), -1) \
        if query.embeddings else np.zeros((0, 0), np.float32)
    keep_n = 3 * limit
    best = _Best(keep_n)
    wanted = None if segments is None else {c: np.fromiter(v, np.int64) for c, v in segments.items()}

    pending: list[_Pending] = []

    def score(items: list[tuple[str, Partition]]) -> None:
        """Score partitions read with the ranking columns only, together; keep the rows that can still make it."""
        parts = [p for _, p in items]
        sizes = np.fromiter((len(p) for p in parts), np.int64, len(parts))
        offsets = np.concatenate([np.zeros(1, np.int64), np.cumsum(sizes)])
        color = _colour_of(parts, query)
        look = None if not len(vectors) else np.concatenate([_appearance(p, vectors) for p in parts])
        total = _combine(look, color, int(offsets[-1]))
        lo = np.repeat(np.fromiter((windows[c][0] for c, _ in items), np.int64, len(items)), sizes)
        hi = np.repeat(np.fromiter((windows[c][1] for c, _ in items), np.int64, len(items)), sizes)
        keep = (total >= max(query.min_score, best.floor())) & \
            (np.concatenate([p.column("end_ms") for p in parts]) >= lo) & \
            (np.concatenate([p.column("start_ms") for p in parts]) < hi)
        if wanted is not None:
            keep &= np.concatenate([np.isin(p.column("segment_start_ms"), wanted.get(c, np.zeros(0, np.int64)))
                                    for c, p in items])
        rows = np.flatnonzero(keep)
        if len(rows) > keep_n:
            rows = rows[total[rows] >= np.partition(total[rows], len(rows) - keep_n)[len(rows) - keep_n]]
        if not len(rows):
            return
        best.offer(total[rows])
        of = np.searchsorted(offsets, rows, side="right") - 1
        for f in np.unique(of).tolist():
            mine = rows[of == f]
            # the file's bytes are let go: holding every pending file until the second pass doubled peak memory
            pending.append(_Pending(replace(parts[f], source=None), mine - offsets[f], total[mine],
                                    None if look is None else look[mine], None if color is None else color[mine]))

    batch = _Batch(score)

    def visit(camera_id: str, partition: Partition) -> frozenset[int]:
        if len(partition):
            batch.add(camera_id, partition)
        return partition.segments

    scanned = store.scan(tag, windows, min(lo for lo, _ in windows.values()), max(hi for _, hi in windows.values()),
                         visit, columns=RANKING_COLUMNS) if windows else {}
    batch.flush()
    every = np.concatenate([p.score for p in pending]) if pending else np.zeros(0, np.float32)
    cut = float(np.partition(every, len(every) - keep_n)[len(every) - keep_n]) if len(every) > keep_n else -1.0

    def read(p: _Pending) -> list[_Candidate]:
        """The records of the pending rows among the best of all."""
        sel = np.flatnonzero(p.score >= cut)
        if not len(sel):
            return []
        try:
            records = store.records(p.partition, p.rows[sel].tolist())
        except ObjectMissing:  # compacted away since (its records are in hour.parquet from then on)
            return []
        return [_Candidate(record, float(p.score[i]), None if p.look is None else float(p.look[i]),
                           None if p.color is None else float(p.color[i]))
                for record, i in zip(records, sel.tolist(), strict=True)]

    with ThreadPoolExecutor(max_workers=16) as pool:
        found = [c for batch in pool.map(read, pending) for c in batch]
    scored = sorted(found, key=lambda x: (-x.score, x.record.camera_id, x.record.start_ms, x.record.track_id))[:keep_n]
    covered = {c: frozenset().union(*parts) for c, parts in scanned.items()}
    by_camera: dict[str, list[_Candidate]] = {}
    for x in scored:
        by_camera.setdefault(x.record.camera_id, []).append(x)
    hits: list[IndexedHit] = []
    for candidates in by_camera.values():
        joined = sorted(stitch(candidates), key=lambda h: (-h.track.score, h.track.start_ms))
        hits.extend(joined[:query.top_k])
    hits.sort(key=lambda h: (-h.track.score, h.track.start_ms))
    return IndexAnswer(hits=hits[:limit], segments=covered)
