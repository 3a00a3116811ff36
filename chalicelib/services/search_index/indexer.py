"""A stored footage segment → one record per person track, in one detector pass shared with monitoring.

:class:`SegmentIndexer` samples the segment (the search's sampling rate), detects people in batches of
frames, embeds every person crop with the re-id model, names their clothing colours and tracks them; each
track becomes a :class:`TrackRecord` with a representative embedding (the normalised mean of its crops'),
mean colour shares, its box path and a thumbnail of its largest view. Every frame's detections are handed,
as they are made, to ``on_frames`` (selective monitoring's rules), so the detector runs once per frame for both.

:class:`SegmentIndexing` is the step the indexing function calls: read, index, write thumbnails and the
segment's partition part, and compact the camera-hour once its last segment is in. For a camera whose indexing
an operator turned off it writes nothing and only detects, when monitoring listens (its rules still run).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from chalicelib.ports import ObjectStore
from chalicelib.services.search.shard import MIN_PERSON_HEIGHT, TimedFrame, iter_frames, thumbnail_jpeg
from chalicelib.services.search_index.records import HOUR_MS, ModelTag, TrackRecord, hour_of, thumbnail_key
from chalicelib.services.search_index.store import IndexStore
from chalicelib.services.search_index.switch import IndexSwitches
from chalicelib.services.search_index.tracking import Observation, SegmentTracker, Tracklet
from chalicelib.video import colors
from chalicelib.video.detect import Detection, Detector, Frame
from chalicelib.video.embed import Embedder, l2_normalise

logger = logging.getLogger(__name__)
DetectedFrame = tuple[int, Frame, Sequence[Detection]]
FramesListener = Callable[[list[DetectedFrame]], None]


@dataclass(frozen=True)
class IndexedSegment:
    camera_id: str
    segment_start_ms: int
    records: list[TrackRecord]
    thumbnails: dict[str, bytes]  # key → JPEG
    frames: int
    people: int
    footage_seconds: float
    elapsed_s: float
    index_off: bool = False  # the camera's indexing is off: detected for monitoring only, nothing written


def _batches(frames: Iterable[TimedFrame], size: int) -> Iterator[list[TimedFrame]]:
    batch: list[TimedFrame] = []
    for frame in frames:
        batch.append(frame)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


class SegmentIndexer:
    def __init__(self, detector: Detector, embedder: Embedder, tag: ModelTag, *, sample_fps: float = 2.0,
                 detect_batch: int = 8) -> None:
        if tag.name != embedder.name:
            raise ValueError(f"records tagged {tag.name} cannot hold {embedder.name} embeddings")
        self.detector = detector
        self.embedder = embedder
        self.tag = tag
        self.sample_fps = sample_fps
        self._detect_batch = detect_batch

    def index(self, camera_id: str, segment_start_ms: int, data: bytes | str, *,
              on_frames: FramesListener | None = None) -> IndexedSegment:
        """Index a segment's bytes (or a file), sampled at :attr:`sample_fps`."""
        frames = iter_frames(data, camera_id=camera_id, start_ms=segment_start_ms, sample_fps=self.sample_fps)
        return self.index_frames(camera_id, segment_start_ms, frames, on_frames=on_frames)

    def detect_only(self, camera_id: str, segment_start_ms: int, data: bytes | str,
                    on_frames: FramesListener) -> IndexedSegment:
        """Detect people for ``on_frames`` only: no embedding, colours, tracks or thumbnails (indexing off)."""
        started, frames = time.perf_counter(), 0
        sampled = iter_frames(data, camera_id=camera_id, start_ms=segment_start_ms, sample_fps=self.sample_fps)
        for batch in _batches(sampled, self._detect_batch):
            found = self.detector.detect([f.image for f in batch])
            on_frames([(f.time_ms, f.image, d) for f, d in zip(batch, found, strict=True)])
            frames += len(batch)
        return IndexedSegment(camera_id=camera_id, segment_start_ms=segment_start_ms, records=[], thumbnails={},
                              frames=frames, people=0, footage_seconds=0.0,
                              elapsed_s=round(time.perf_counter() - started, 3), index_off=True)

    def index_frames(self, camera_id: str, segment_start_ms: int, sampled: Iterable[TimedFrame], *,
                     on_frames: FramesListener | None = None) -> IndexedSegment:
        """Index a segment's already sampled frames."""
        started = time.perf_counter()
        tracker = SegmentTracker()
        frames = people = 0
        last_ms = segment_start_ms
        for batch in _batches(sampled, self._detect_batch):
            found = self.detector.detect([f.image for f in batch])
            if on_frames is not None:
                on_frames([(f.time_ms, f.image, d) for f, d in zip(batch, found, strict=True)])
            per_frame: list[tuple[TimedFrame, list[Detection], list[Frame]]] = []
            for frame, detections in zip(batch, found, strict=True):
                kept, crops = [], []
                for d in detections:
                    if d.label != "person" or d.height < MIN_PERSON_HEIGHT:
                        continue
                    crop = frame.image[max(0, int(d.y1)):int(d.y2), max(0, int(d.x1)):int(d.x2)]
                    if crop.size:
                        kept.append(d)
                        crops.append(crop)
                per_frame.append((frame, kept, crops))
            all_crops = [c for _, _, crops in per_frame for c in crops]
            vectors = self.embedder.embed(all_crops) if all_crops else None
            offset = 0
            for frame, kept, crops in per_frame:
                observations = []
                for d, crop in zip(kept, crops, strict=True):
                    assert vectors is not None
                    upper, lower = colors.describe(crop)
                    observations.append(Observation(frame.time_ms, d, vectors[offset],
                                                    np.fromiter(upper.values(), float), np.fromiter(lower.values(), float)))
                    offset += 1
                tracker.update(observations, crops)
                frames += 1
                people += len(kept)
                last_ms = frame.time_ms
        records, thumbnails = [], {}
        for track_id, track in enumerate(t for t in tracker.tracks if t.observations):
            record = self._record(camera_id, segment_start_ms, track_id, track)
            records.append(record)
            if track.best_crop is not None:
                thumbnails[record.thumbnail_key] = thumbnail_jpeg(track.best_crop)
        return IndexedSegment(camera_id=camera_id, segment_start_ms=segment_start_ms, records=records,
                              thumbnails=thumbnails, frames=frames, people=people,
                              footage_seconds=round((last_ms - segment_start_ms) / 1000 + 1 / self.sample_fps, 3)
                              if frames else 0.0,
                              elapsed_s=round(time.perf_counter() - started, 3))

    def _record(self, camera_id: str, segment_start_ms: int, track_id: int, track: Tracklet) -> TrackRecord:
        obs = track.observations
        mean = l2_normalise(np.mean([o.embedding for o in obs], axis=0, keepdims=True).astype(np.float32))[0]
        best = max(obs, key=lambda o: o.detection.width * o.detection.height * o.detection.score)
        path = tuple((o.time_ms, *(round(float(v), 1) for v in (o.detection.x1, o.detection.y1, o.detection.x2,
                                                                  o.detection.y2))) for o in obs)
        return TrackRecord(camera_id=camera_id, segment_start_ms=segment_start_ms, track_id=track_id,
                           start_ms=obs[0].time_ms, end_ms=obs[-1].time_ms, best_ms=best.time_ms,
                           path=path,  # type: ignore[arg-type]
                           embedding=mean, upper=tuple(float(v) for v in np.mean([o.upper for o in obs], axis=0)),
                           lower=tuple(float(v) for v in np.mean([o.lower for o in obs], axis=0)),
                           thumbnail_key=thumbnail_key(camera_id, segment_start_ms, track_id))


class SegmentIndexing:
    """Index one stored segment: its records and thumbnails into the index store (footage bucket)."""

    def __init__(self, footage: ObjectStore, index: IndexStore, indexer: SegmentIndexer,
                 switches: IndexSwitches | None = None) -> None:
        self._footage = footage
        self._index = index
        self.indexer = indexer
        self._switches = switches

    def run(self, camera_id: str, segment_start_ms: int, key: str, *, segment_end_ms: int | None = None,
            on_frames: FramesListener | None = None) -> IndexedSegment:
        if self._switches is not None and self._switches.is_off(camera_id):
            logger.info("segment not indexed: the camera's indexing is off",
                        extra={"camera_id": camera_id, "segment_start_ms": segment_start_ms})
            if on_frames is None:
                return IndexedSegment(camera_id=camera_id, segment_start_ms=segment_start_ms, records=[],
                                      thumbnails={}, frames=0, people=0, footage_seconds=0.0, elapsed_s=0.0,
                                      index_off=True)
            return self.indexer.detect_only(camera_id, segment_start_ms, self._footage.get(key), on_frames)
        indexed = self.indexer.index(camera_id, segment_start_ms, self._footage.get(key), on_frames=on_frames)
        for thumb_key, jpeg in indexed.thumbnails.items():
            self._footage.put(thumb_key, jpeg, content_type="image/jpeg")
        dim = self.indexer.embedder.dim
        self._index.write_segment(self.indexer.tag, camera_id, segment_start_ms, indexed.records, dim=dim)
        if segment_end_ms is not None and segment_end_ms >= hour_of(segment_start_ms) + HOUR_MS:
            self._index.compact(self.indexer.tag, camera_id, hour_of(segment_start_ms), dim=dim)  # the hour's last
        logger.info("segment indexed", extra={"camera_id": camera_id, "segment_start_ms": segment_start_ms,
                                              "tracks": len(indexed.records), "frames": indexed.frames,
                                              "elapsed_s": indexed.elapsed_s})
        return indexed

    def replace_hour(self, camera_id: str, hour_ms: int) -> int:
        """Make the camera-hour's file of its parts alone (a re-index: an earlier compaction is replaced, not
        merged); -1 when no part is there (nothing indexed: the earlier file, if any, stays)."""
        return self._index.compact(self.indexer.tag, camera_id, hour_ms, dim=self.indexer.embedder.dim, parts_only=True)
