"""Index partitions in object storage: one part per indexed segment, compacted to one file per camera-hour.

Reading a cone lists each camera-hour prefix once and fetches its files in parallel (object storage is
latency-bound; the files are small).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import TypeVar

from chalicelib.errors import ObjectMissing
from chalicelib.ports import ObjectStore
from chalicelib.services.search_index.parquet import Partition, decode, encode, merge
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


class IndexStore:
    def __init__(self, store: ObjectStore, *, readers: int = 32) -> None:
        self._store = store
        self._readers = readers

    def write_segment(self, tag: ModelTag, camera_id: str, segment_start_ms: int, records: Sequence[TrackRecord],
                      *, dim: int) -> str:
        key = part_key(tag, camera_id, segment_start_ms)
        self._store.put(key, encode(records, tag=tag, camera_id=camera_id, dim=dim, segments=[segment_start_ms]),
                        content_type=PARQUET)
        return key

    def compact(self, tag: ModelTag, camera_id: str, hour_ms: int, *, dim: int) -> int:
        """Merge the camera-hour's parts (and an earlier compaction) into ``hour.parquet``; the parts are
        deleted after it is written, so a reader in between sees records twice at worst, never none.
        Returns the number of records."""
        keys = sorted(self._store.keys(hour_prefix(tag, camera_id, hour_ms)))
        parts = [k for k in keys if k.rsplit("/", 1)[-1].startswith("part-")]
        if not parts:
            return -1
        records, segments = merge([decode(self._store.get(k)) for k in keys])
        records.sort(key=lambda r: (r.start_ms, r.track_id))
        self._store.put(compacted_key(tag, camera_id, hour_ms),
                        encode(records, tag=tag, camera_id=camera_id, dim=dim, segments=sorted(segments)),
                        content_type=PARQUET)
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
        prefixes = [(c, hour_prefix(tag, c, h)) for c in cameras for h in hours(t1_ms, t2_ms)]

        def load(ck: tuple[str, str]) -> tuple[str, T | None]:
            partition = self._load(ck[1], columns)
            return ck[0], None if partition is None else visit(ck[0], partition)

        with ThreadPoolExecutor(max_workers=self._readers) as pool:
            listed = list(pool.map(lambda cp: (cp[0], sorted(self._store.keys(cp[1]))), prefixes))
            wanted = [(c, k) for c, keys in listed for k in keys if k.endswith(".parquet")]
            visited = list(pool.map(load, wanted))
        found: dict[str, list[T]] = {c: [] for c in cameras}
        for camera_id, result in visited:
            if result is not None:
                found[camera_id].append(result)
        return found

    def load_many(self, keys: Iterable[str]) -> dict[str, Partition]:
        """Whole partition files by key (read in parallel); a key compacted away since is left out."""
        wanted = list(dict.fromkeys(keys))
        with ThreadPoolExecutor(max_workers=self._readers) as pool:
            loaded = list(pool.map(lambda k: self._load(k, None), wanted))
        return {k: p for k, p in zip(wanted, loaded, strict=True) if p is not None}

    def _load(self, key: str, columns: Sequence[str] | None) -> Partition | None:
        try:
            return replace(decode(self._store.get(key), columns), key=key)
        except ObjectMissing:  # compacted away since the listing (its records are in hour.parquet from then on)
            return None
