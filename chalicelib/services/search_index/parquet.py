"""Track records as Parquet: one file per camera partition, the model and segments in the file's metadata.

Embeddings are stored as int8 with a per-row scale (``row ≈ code × scale``, each value within ``scale / 2``: a
cosine similarity moves by 6e-4 on average, 2e-3 at most, measured on the bench's records), as vector indexes
store them (FAISS's and USearch's 8-bit scalar quantisers): a quarter of float32's bytes, and numpy converts
int8 to float32 about 3× faster than float16 (the conversion, not the product, is the scan's largest cost).
The scores a search ranks by are those of the stored vectors, so one pass over the codes finds the best rows
and only their records are read afterwards. (Earlier files also held a float16 copy for an exact re-rank, 60 %
of their bytes; files without codes are scored from it.)
Each row's vector is one fixed-size binary value of raw little-endian values, left uncompressed: re-id
embeddings do not compress (zstd saves ~9 %) and a reader maps the column straight into an N×D array. Colour
shares likewise; the box path is a flat float32 list of (t - start, x1, y1, x2, y2). The other columns every
search reads (times, scales, colours) are left uncompressed too: small as they are, decompressing them was half
of a file's read (0.32 against 0.18 ms, for 10 % more bytes, measured); the rest is LZ4 (zstd saves 4 % more
bytes and takes 40 % longer to read). A reader projects the columns it needs and reads the others later only
for the rows it keeps (:meth:`Partition.records`).

The footer is kept small (a search opens thousands): no Arrow schema copy, and the covered segments as runs
([first, step, count]) instead of a list of 360 starts (the footer was 15 kB, parsing it a third of a
1-record file's read).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from numpy.typing import NDArray

from chalicelib.services.search_index.records import ModelTag, TrackRecord
from chalicelib.video.colors import COLOR_NAMES

_META = b"golden-time.search-index"
_COLOURS = len(COLOR_NAMES)
RECORD_COLUMNS = ("segment_start_ms", "start_ms", "end_ms", "track_id", "best_ms", "path", "thumbnail_key",
                   "derived", "code", "code_scale", "embedding", "upper", "lower")  # (embedding: files of format ≤ 3)
RANKING_COLUMNS = ("segment_start_ms", "start_ms", "end_ms", "code", "code_scale", "upper", "lower")


def _schema(dim: int) -> pa.Schema:
    return pa.schema([  # the ranking columns first: one contiguous range for a reader that reads ranges
        ("segment_start_ms", pa.int64()), ("start_ms", pa.int64()), ("end_ms", pa.int64()),
        ("code", pa.binary(dim)), ("code_scale", pa.float32()),
        ("upper", pa.binary(2 * _COLOURS)), ("lower", pa.binary(2 * _COLOURS)),
        ("track_id", pa.int32()), ("best_ms", pa.int64()), ("path", pa.list_(pa.float32())),
        ("thumbnail_key", pa.string()), ("derived", pa.bool_()),
    ])


def _fixed(values: NDArray[np.generic], width: int, itemsize: int) -> pa.FixedSizeBinaryArray:
    """An N×width matrix as N fixed-size binary values (its raw little-endian bytes)."""
    raw = np.ascontiguousarray(values).reshape(-1, width)
    kind = pa.binary(itemsize * width)
    return pa.FixedSizeBinaryArray.from_buffers(kind, len(raw), [None, pa.py_buffer(raw.tobytes())])


def quantise(embeddings: NDArray[np.floating]) -> tuple[NDArray[np.int8], NDArray[np.float32]]:
    """Per-row symmetric int8 codes and their scales: ``row ≈ code × scale``, each value within ``scale / 2``."""
    x = np.asarray(embeddings, dtype=np.float32)
    peak = np.abs(x).max(axis=1) if x.size else np.zeros(len(x), np.float32)
    scale = (peak / 127.0).astype(np.float32)
    codes = np.rint(x / np.where(scale > 0, scale, 1.0)[:, None]).clip(-127, 127).astype(np.int8)
    return codes, scale


def _runs(segments: Sequence[int]) -> list[list[int]]:
    """Sorted segment starts as [first, step, count] runs (an hour of 10 s segments is one run)."""
    runs: list[list[int]] = []
    for s in sorted(set(segments)):
        if runs and runs[-1][2] == 1:
            runs[-1][1], runs[-1][2] = s - runs[-1][0], 2
        elif runs and s == runs[-1][0] + runs[-1][1] * runs[-1][2]:
            runs[-1][2] += 1
        else:
            runs.append([s, 0, 1])
    return runs


def _expand(runs: Sequence[Sequence[int]]) -> frozenset[int]:
    return _expanded(tuple(tuple(run) for run in runs))


@lru_cache(maxsize=4096)
def _expanded(runs: tuple[tuple[int, ...], ...]) -> frozenset[int]:
    """(A compacted hour's runs are the same for every camera: a day of a hundred cameras expands 24.)"""
    return frozenset().union(*(range(first, first + step * count, step) if step else (first,)
                               for first, step, count in runs))


def encode(records: Sequence[TrackRecord], *, tag: ModelTag, camera_id: str, dim: int,
           segments: Sequence[int]) -> bytes:
    """A Parquet file of one camera's records of one model; ``segments`` lists the segments it covers
    (a segment where nobody was seen is covered with no record)."""
    if any(r.camera_id != camera_id for r in records):
        raise ValueError("a partition holds one camera's records")
    n = len(records)
    vectors = np.stack([r.embedding for r in records]).astype(np.float32) if n else np.zeros((0, dim), np.float32)
    codes, scales = quantise(vectors)
    upper = np.asarray([r.upper for r in records], dtype="<f2").reshape(n, _COLOURS)
    lower = np.asarray([r.lower for r in records], dtype="<f2").reshape(n, _COLOURS)
    paths = [[float(v) for t, *box in r.path for v in (t - r.start_ms, *box)] for r in records]
    table = pa.table({
        "segment_start_ms": pa.array([r.segment_start_ms for r in records], pa.int64()),
        "start_ms": pa.array([r.start_ms for r in records], pa.int64()),
        "end_ms": pa.array([r.end_ms for r in records], pa.int64()),
        "code": _fixed(codes, dim, 1), "code_scale": pa.array(scales, pa.float32()),
        "upper": _fixed(upper, _COLOURS, 2), "lower": _fixed(lower, _COLOURS, 2),
        "track_id": pa.array([r.track_id for r in records], pa.int32()),
        "best_ms": pa.array([r.best_ms for r in records], pa.int64()),
        "path": pa.array(paths, pa.list_(pa.float32())),
        "thumbnail_key": pa.array([r.thumbnail_key for r in records], pa.string()),
        "derived": pa.array([r.derived for r in records], pa.bool_()),
    }, schema=_schema(dim))
    meta = {"model": tag.name, "version": tag.version, "camera_id": camera_id, "dim": dim,
            "segment_runs": _runs(segments), "colours": list(COLOR_NAMES)}
    sink = io.BytesIO()
    compression = {name: "none" if name in RANKING_COLUMNS else "lz4" for name in table.column_names} | \
        {"path.list.element": "lz4"}
    with pq.ParquetWriter(sink, table.schema, compression=compression,  # type: ignore[arg-type]
                          use_dictionary=["thumbnail_key"], write_statistics=False, store_schema=False) as writer:
        writer.write_table(table)
        writer.add_key_value_metadata({_META.decode(): json.dumps(meta)})
    return sink.getvalue()


@dataclass(frozen=True)
class Partition:
    """The records of one camera partition file: the columns read so far, as arrays for ranking; the rest
    read from ``source`` for the rows kept (:meth:`records`)."""

    tag: ModelTag
    camera_id: str
    segments: frozenset[int]
    table: pa.Table
    key: str = ""  # where it was read from
    source: Callable[[], pq.ParquetFile] | None = field(default=None, repr=False, compare=False)

    def __len__(self) -> int:
        return int(self.table.num_rows)

    def has(self, name: str) -> bool:
        return bool(self.table.schema.get_field_index(name) >= 0)  # (column_names builds a list each time)

    def column(self, name: str) -> NDArray[np.int64]:
        return np.asarray(self.table.column(name).to_numpy(), dtype=np.int64)

    def scales(self) -> NDArray[np.float32]:
        return np.asarray(self.table.column("code_scale").to_numpy(), dtype=np.float32)

    def vectors(self, rows: NDArray[np.int64] | None = None) -> NDArray[np.float32]:
        """The stored embeddings (of ``rows``, else all) as float32: the codes times their scales, or the float16
        vectors of a file written before the codes (read from the source if not read yet)."""
        if self.has("code"):
            codes, scales = self.codes(), self.scales()
            if rows is not None:
                codes, scales = codes[rows], scales[rows]
            return np.asarray(codes.astype(np.float32) * scales[:, None], dtype=np.float32)
        full = self._with(("embedding",))
        return np.asarray(full.matrix("embedding")[slice(None) if rows is None else rows], dtype=np.float32)

    def matrix(self, name: str) -> NDArray[np.float16]:
        """A float16 column (embedding, upper, lower) as an N×width matrix, mapped without copying."""
        return self._fixed(name, np.dtype("<f2"))  # type: ignore[return-value]

    def codes(self) -> NDArray[np.int8]:
        """The int8 embedding codes as an N×dim matrix (``row ≈ code × scale``), mapped without copying."""
        return self._fixed("code", np.dtype("i1"))  # type: ignore[return-value]

    def _fixed(self, name: str, dtype: np.dtype[np.generic]) -> NDArray[np.generic]:
        chunked = self.table.column(name)
        column = chunked.chunk(0) if chunked.num_chunks == 1 else chunked.combine_chunks()  # one chunk: no copy
        width = column.type.byte_width // dtype.itemsize
        data = column.buffers()[1]
        if data is None or not len(column):
            return np.zeros((0, width), dtype)
        return np.frombuffer(data, dtype=dtype, count=len(column) * width,
                             offset=column.offset * width * dtype.itemsize).reshape(-1, width)

    def full(self) -> Partition:
        """This partition with every column (read from its source the columns not read yet)."""
        return self._with(None)

    def joined(self, other: Partition) -> Partition:
        """This partition with the columns of ``other`` (the same file's rows) that it lacks."""
        table = self.table
        for name in other.table.column_names:
            if name not in table.column_names:
                table = table.append_column(name, other.table.column(name))
        return Partition(self.tag, self.camera_id, self.segments, table, self.key)

    def lacking(self) -> tuple[str, ...]:
        """The columns of its records (:meth:`records`) not read yet."""
        return tuple(n for n in RECORD_COLUMNS if not self.has(n))

    def _with(self, names: Sequence[str] | None) -> Partition:
        """This partition with the columns ``names`` (every column if None), reading those not read yet."""
        if self.source is None:
            return self
        source = self.source()
        missing = [n for n in source.schema_arrow.names if n not in self.table.column_names and
                   (names is None or n in names)]
        if not missing:
            return Partition(self.tag, self.camera_id, self.segments, self.table, self.key)
        more = read_columns(source, missing)
        table = self.table
        for name in missing:
            table = table.append_column(name, more.column(name))
        return Partition(self.tag, self.camera_id, self.segments, table, self.key)  # all read: no source

    def records(self, rows: Sequence[int]) -> list[TrackRecord]:
        """The records of ``rows`` (reading the columns not read yet once)."""
        if not len(rows):
            return []
        full = self._with(RECORD_COLUMNS)
        index = pa.array(np.asarray(rows, dtype=np.int64))
        get = {name: full.table.column(name).take(index).to_pylist()  # the few rows only, column by column
               for name in ("segment_start_ms", "start_ms", "end_ms", "track_id", "best_ms", "thumbnail_key", "derived")}
        picked = index.to_numpy()
        embeddings = full.vectors(picked)
        upper, lower = full.matrix("upper")[picked].tolist(), full.matrix("lower")[picked].tolist()
        paths = pa.concat_arrays(full.table.column("path").take(index).chunks) if len(picked) else None
        offsets = paths.offsets.to_numpy() if paths is not None else np.zeros(1, np.int32)
        bounds = (offsets - offsets[0]) // 5  # (t - start, x1, y1, x2, y2) per point
        flat = paths.flatten().to_numpy().astype(np.float64).reshape(-1, 5) if paths is not None else np.zeros((0, 5))
        times, boxes = np.rint(flat[:, 0]).astype(np.int64).tolist(), np.round(flat[:, 1:], 1).tolist()
        out = []
        for i in range(len(rows)):
            start = int(get["start_ms"][i])
            path = tuple((start + times[j], *boxes[j]) for j in range(int(bounds[i]), int(bounds[i + 1])))
            out.append(TrackRecord(
                camera_id=self.camera_id, segment_start_ms=int(get["segment_start_ms"][i]),
                track_id=int(get["track_id"][i]), start_ms=start, end_ms=int(get["end_ms"][i]),
                best_ms=int(get["best_ms"][i] or start), path=path,  # type: ignore[arg-type]
                embedding=embeddings[i], upper=tuple(upper[i]), lower=tuple(lower[i]),
                thumbnail_key=str(get["thumbnail_key"][i] or ""), derived=bool(get["derived"][i])))
        return out

    def record(self, row: int) -> TrackRecord:
        return self.records([row])[0]


def read_columns(source: pq.ParquetFile, columns: Sequence[str] | None) -> pa.Table:
    """The file's ``columns`` that it has (all if None). Every field of ours is one Parquet column, so a field's
    index is its column's: ParquetFile.read maps names to columns in Python, a third of a small file's read."""
    names = source.schema_arrow.names
    if columns is None:
        return source.read(use_threads=False)
    wanted = [c for c in columns if c in names]
    if source.metadata.num_columns != len(names):  # not one column per field: let pyarrow map them
        return source.read(columns=wanted, use_threads=False)
    return source.reader.read_all(column_indices=[names.index(c) for c in wanted], use_threads=False)


def decode(data: bytes, columns: Sequence[str] | None = None) -> Partition:
    """A partition file (all columns, or only ``columns``: the others are read on demand)."""
    source = pq.ParquetFile(pa.BufferReader(data))
    kv = source.metadata.metadata or {}
    meta = json.loads(kv[_META])
    if list(meta.get("colours", COLOR_NAMES)) != list(COLOR_NAMES):
        raise ValueError("the partition names its colours differently from this build")
    table = read_columns(source, columns)
    segments = _expand(meta["segment_runs"]) if "segment_runs" in meta else \
        frozenset(int(s) for s in meta["segments"])  # files written before segment runs
    return Partition(tag=ModelTag(meta["model"], meta["version"]), camera_id=meta["camera_id"],
                     segments=segments, table=table, source=lambda: source)


def merge(partitions: Sequence[Partition]) -> tuple[list[TrackRecord], set[int]]:
    """Every record and covered segment of several files of one camera and model (compaction)."""
    records: list[TrackRecord] = []
    segments: set[int] = set()
    for p in partitions:
        records.extend(p.records(range(len(p))))
        segments |= p.segments
    return records, segments
