"""Index partitions in object storage: one part per indexed segment, compacted to one file per camera-hour.

Reading a cone lists each camera-hour prefix once (a camera's day once, for a long window) and fetches its files
in parallel (object storage is latency-bound; the files are small), decoding them one per core at a time. The
ranking columns of the files read, and the record columns of those the best rows came from, are kept decoded in
the process for a few minutes (bounded by bytes): a warm container answering searches of the same area and day —
an operator widening a window, several searches for one missing person — reads and decodes each file once. A file rewritten
since (a late segment compacted in) is seen after at most ``cache_ttl_s``; a re-index writes other keys.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import TypeVar

import pyarrow as pa
import pyarrow.parquet as pq

from chalicelib.errors import ObjectMissing
from chalicelib.ports import ObjectStore
from chalicelib.services.search_index.parquet import Partition, decode, encode, merge, read_columns
from chalicelib.services.search_index.records import (
    ModelTag,
    TrackRecord,
    compacted_key,
    hour_prefix,
    hours,
    part_key,
)

logger = logging.getLogger(__name__)
PARQUET = "application/vnd.apache.parquet"
T = TypeVar("T")


@dataclass(frozen=True)
class CameraPartitions:
    """What the index holds for one camera over a window: its partition files and the segments they cover."""

    camera_id: str
    partitions: tuple[Partition, ...]

    @property
    def segments(self) -> frozenset[int]:
        return frozenset(s for p in self.partitions for s in p.segments)


class _Decoded:
    """Partitions decoded by this process (ranking columns only), least recently used first out."""

    def __init__(self, max_bytes: int, ttl_s: float, clock: Callable[[], float]) -> None:
        self._max_bytes, self._ttl_s, self._clock = max_bytes, ttl_s, clock
        self._entries: OrderedDict[tuple[str, tuple[str, ...]], tuple[float, int, Partition]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: str, columns: tuple[str, ...]) -> Partition | None:
        with self._lock:
            entry = self._entries.get((key, columns))
            if entry is None:
                return None
            if entry[0] < self._clock():
                self._drop((key, columns))
                return None
            self._entries.move_to_end((key, columns))
            return entry[2]

    def put(self, key: str, columns: tuple[str, ...], partition: Partition) -> None:
        size = int(partition.table.get_total_buffer_size())  # (nbytes walks the buffers: 70× slower)
        if size > self._max_bytes:
            return
        with self._lock:
            self._drop((key, columns))
            self._entries[(key, columns)] = (self._clock() + self._ttl_s, size, partition)
            self._bytes += size
            while self._bytes > self._max_bytes:
                self._drop(next(iter(self._entries)))

    def forget(self, key: str) -> None:
        with self._lock:
            for entry in [e for e in self._entries if e[0] == key]:
                self._drop(entry)

    def _drop(self, entry: tuple[str, tuple[str, ...]]) -> None:
        found = self._entries.pop(entry, None)
        if found is not None:
            self._bytes -= found[1]


_DAY_LISTING_HOURS = 6


def _listings(prefixes: Sequence[tuple[str, str]]) -> list[tuple[str, str, frozenset[str]]]:
    """(camera, prefix to list, the hour prefixes wanted from it): a camera's day prefix when the window holds
    a quarter of its hours or more (one listing request instead of one per hour: 100 instead of 2,400 for a day
    of a hundred cameras), else each hour's own (a day's listing costs more than a few hours')."""
    days: dict[tuple[str, str], list[str]] = {}
    for camera_id, prefix in prefixes:
        days.setdefault((camera_id, prefix.rsplit("/", 2)[0] + "/"), []).append(prefix)
    listings = []
    for (camera_id, day), hours_of in days.items():
        if len(hours_of) >= _DAY_LISTING_HOURS:
            listings.append((camera_id, day, frozenset(hours_of)))
        else:
            listings.extend((camera_id, hour, frozenset((hour,))) for hour in hours_of)
    return listings


class IndexStore:
    def __init__(self, store: ObjectStore, *, readers: int = 32, cache_bytes: int = 512 << 20,
                 cache_ttl_s: float = 300.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._store = store
        self._readers = readers
        # decoding and scoring hold the GIL for most of their time: more of them at once than cores only queue
        # on it (32 readers at once spent a third more CPU per search, measured); the reads themselves overlap
        self._cpu = threading.Semaphore(os.cpu_count() or 2)
        self._decoded = _Decoded(cache_bytes, cache_ttl_s, clock)

    def write_segment(self, tag: ModelTag, camera_id: str, segment_start_ms: int, records: Sequence[TrackRecord],
                      *, dim: int) -> str:
        key = part_key(tag, camera_id, segment_start_ms)
        self._store.put(key, encode(records, tag=tag, camera_id=camera_id, dim=dim, segments=[segment_start_ms]),
                        content_type=PARQUET)
        return key

    def compact(self, tag: ModelTag, camera_id: str, hour_ms: int, *, dim: int, parts_only: bool = False) -> int:
        """Merge the camera-hour's parts (and an earlier compaction, unless ``parts_only``) into ``hour.parquet``;
        the parts are deleted after it is written, so a reader in between sees records twice at worst, never
        none. Returns the number of records."""
        keys = sorted(self._store.keys(hour_prefix(tag, camera_id, hour_ms)))
        parts = [k for k in keys if k.rsplit("/", 1)[-1].startswith("part-")]
        if not parts:
            return -1
        records, segments = merge([decode(self._store.get(k)) for k in (parts if parts_only else keys)])
        records.sort(key=lambda r: (r.start_ms, r.track_id))
        self._store.put(compacted_key(tag, camera_id, hour_ms),
                        encode(records, tag=tag, camera_id=camera_id, dim=dim, segments=sorted(segments)),
                        content_type=PARQUET)
        self._decoded.forget(compacted_key(tag, camera_id, hour_ms))
        for key in parts:
            self._store.delete(key)
        return len(records)

    def read(self, tag: ModelTag, camera_ids: Iterable[str], t1_ms: int, t2_ms: int,
             columns: Sequence[str] | None = None) -> dict[str, CameraPartitions]:
        """Each camera's partitions meeting ``[t1, t2)`` (of this model only)."""
        found = self.scan(tag, camera_ids, t1_ms, t2_ms, lambda camera_id, partition: partition, columns=columns)
        return {c: CameraPartitions(c, tuple(parts)) for c, parts in found.items()}

    def scan(self, tag: ModelTag, camera_ids: Iterable[str], t1_ms: int, t2_ms: int,
             visit: Callable[[str, Partition], T], columns: Sequence[str] | None = None) -> dict[str, list[T]]:
        """``visit(camera, partition)`` on every partition meeting ``[t1, t2)`` as it is read (in the reader
        threads: a visit that keeps little keeps memory flat however large the window)."""
        cameras = list(dict.fromkeys(camera_ids))
        prefixes = _listings([(c, hour_prefix(tag, c, h)) for c in cameras for h in hours(t1_ms, t2_ms)])

        def load(ck: tuple[str, str]) -> tuple[str, T | None]:
            partition = self._load(ck[1], columns)
            if partition is None:
                return ck[0], None
            try:
                with self._cpu:
                    return ck[0], visit(ck[0], partition)
            except ObjectMissing:  # its other columns were wanted, and it was compacted away since
                return ck[0], None

        with ThreadPoolExecutor(max_workers=self._readers) as pool:
            listed = list(pool.map(lambda cp: (cp[0], cp[2], sorted(self._store.keys(cp[1]))), prefixes))
            wanted = [(c, k) for c, hours_of, keys in listed for k in keys
                      if k.endswith(".parquet") and k.rsplit("/", 1)[0] + "/" in hours_of]
            visited = list(pool.map(load, wanted))
        found: dict[str, list[T]] = {c: [] for c in cameras}
        for camera_id, result in visited:
            if result is not None:
                found[camera_id].append(result)
        return found

    def _load(self, key: str, columns: Sequence[str] | None) -> Partition | None:
        wanted = tuple(columns) if columns else None
        if wanted is not None and (cached := self._decoded.get(key, wanted)) is not None:
            return cached
        try:
            data = self._store.get(key)
            with self._cpu:
                partition = replace(decode(data, columns), key=key)
        except ObjectMissing:  # compacted away since the listing (its records are in hour.parquet from then on)
            return None
        if wanted is not None:  # kept without the file's bytes: its other columns are read again if wanted
            self._decoded.put(key, wanted, replace(partition, source=lambda: self.reopen(key)))
        return partition

    def records(self, partition: Partition, rows: Sequence[int]) -> list[TrackRecord]:
        """The records of ``rows`` of a partition that :meth:`scan` read: its other columns are read once and kept
        decoded like its ranking columns (the best people of a search are mostly in the same files the next time:
        a wider window, or another search for the same person). ``ObjectMissing`` if compacted away since."""
        names = partition.lacking()
        more = self._decoded.get(partition.key, names) if names else None
        if names and more is None:
            source = self.reopen(partition.key)
            with self._cpu:
                more = Partition(partition.tag, partition.camera_id, partition.segments,
                                 read_columns(source, names), partition.key)
            self._decoded.put(partition.key, names, more)
        with self._cpu:
            return (partition.joined(more) if more is not None else partition).records(rows)

    def reopen(self, key: str) -> pq.ParquetFile:
        """A partition file, to read its other columns (``ObjectMissing`` if compacted away since)."""
        return pq.ParquetFile(pa.BufferReader(self._store.get(key)))
