"""The shard worker: decode → motion gate → detect people → batched re-id → score → top-K per camera.

:class:`SearchPipeline` is the frame loop; it receives its stages (detector, embedder, motion gate
factory) as parameters and knows nothing of storage. :class:`ShardRunner` feeds it the footage of
one shard of a plan and writes the shard's result (``searches/<id>/shards/<n>.json``, thumbnails
under ``searches/<id>/thumbs/``) and then a done marker (``searches/<id>/shards/<n>/done.json``)
whose S3 notification triggers the reducer.
"""

from __future__ import annotations

import heapq
import io
import itertools
import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import av
import cv2
import numpy as np
from av.container import InputContainer

from chalicelib.errors import ObjectMissing, PermanentError
from chalicelib.models.search import Box, SearchPlan, SearchQuery, ShardItem, ShardResult, Sighting
from chalicelib.ports import ObjectStore
from chalicelib.services.search.scoring import appearance, color_match, combine
from chalicelib.video import colors
from chalicelib.video.detect import Detection, Detector, Frame
from chalicelib.video.embed import Embedder
from chalicelib.video.motion import MotionGate
from chalicelib.video.prefetch import prefetched

logger = logging.getLogger(__name__)

MIN_PERSON_HEIGHT = 40  # pixels; smaller people cannot be recognised
THUMB_HEIGHT = 160


def plan_key(search_id: str) -> str:
    return f"searches/{search_id}/plan.json"


def query_key(search_id: str) -> str:
    return f"searches/{search_id}/query.json"


def shard_key(search_id: str, index: int) -> str:
    return f"searches/{search_id}/shards/{index}.json"


def indexed_key(search_id: str) -> str:
    """What the search index answered (:class:`~chalicelib.models.search.IndexedPart`), when it was asked."""
    return f"searches/{search_id}/indexed.json"


def done_key(search_id: str, index: int) -> str:
    return f"searches/{search_id}/shards/{index}/done.json"


def result_key(search_id: str) -> str:
    return f"searches/{search_id}/result.json"


def finished_shards(store: ObjectStore, search_id: str) -> set[int]:
    """Indices of the shards whose result is stored (``searches/<id>/shards/<n>.json``)."""
    prefix = f"searches/{search_id}/shards/"
    done = set()
    for key in store.keys(prefix):
        leaf = key[len(prefix):]
        if leaf.endswith(".json") and "/" not in leaf and leaf[:-5].isdigit():
            done.add(int(leaf[:-5]))
    return done


@dataclass(frozen=True)
class TimedFrame:
    camera_id: str
    time_ms: int
    image: Frame


def _open(source: bytes | str | Path) -> InputContainer:
    return av.open(io.BytesIO(source) if isinstance(source, bytes) else str(source), mode="r")


def iter_frames(source: bytes | str | Path, *, camera_id: str, start_ms: int, sample_fps: float,
                from_ms: int | None = None, to_ms: int | None = None) -> Iterator[TimedFrame]:
    """Decode a recording (bytes of a segment, or a file) and yield frames at about ``sample_fps``.

    Frame times are ``start_ms + index / fps`` (the recording's own clock, not its PTS, which may wrap).
    """
    try:
        container = _open(source)
    except (av.FFmpegError, OSError) as exc:
        raise PermanentError(f"footage of {camera_id} at {start_ms} is not decodable: {exc}") from exc
    with container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        fps = float(stream.average_rate or stream.guessed_rate or 10)
        step = max(1, round(fps / sample_fps))
        for i, frame in enumerate(container.decode(stream)):
            t = start_ms + round(i * 1000 / fps)
            if to_ms is not None and t >= to_ms:
                break
            if i % step or (from_ms is not None and t < from_ms):
                continue
            image: Frame = frame.to_ndarray(format="bgr24")  # type: ignore[assignment]  # bgr24 is uint8
            yield TimedFrame(camera_id, t, image)


def count_frames(source: bytes | str | Path) -> tuple[int, float]:
    """Decode-only pass (the benchmark's baseline): frames decoded and seconds of video."""
    with _open(source) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        fps = float(stream.average_rate or 10)
        n = sum(1 for _ in container.decode(stream))
    return n, n / fps


@dataclass(order=True)
class _Kept:
    score: float
    seq: int
    sighting: Sighting = field(compare=False)
    crop: Frame = field(compare=False, repr=False)


@dataclass
class PipelineStats:
    frames_decoded: int = 0
    frames_searched: int = 0
    people_detected: int = 0


class SearchPipeline:
    """One search's frame loop. Feed it frames (any cameras, any order); read the top-K per camera.

    Frames past the motion gate are detected ``detect_batch`` at a time and person crops embedded
    ``batch_crops`` at a time: one model run per batch keeps an accelerator busy (on a CPU it is neutral).
    """

    def __init__(self, query: SearchQuery, detector: Detector, embedder: Embedder, *,
                 motion: Callable[[], MotionGate] | None = MotionGate, detect_batch: int = 8,
                 batch_crops: int = 32) -> None:
        self.query = query
        self.detector = detector
        self.embedder = embedder
        self._motion_factory = motion
        self._gates: dict[str, MotionGate] = {}
        self._query_vectors = (np.asarray(query.embeddings, dtype=np.float32) if query.embeddings
                               else np.zeros((0, embedder.dim), dtype=np.float32))
        if query.embeddings and query.embedder not in (None, embedder.name):
            raise PermanentError(f"the query was embedded by {query.embedder}, this worker has {embedder.name}")
        self._detect_batch = detect_batch
        self._frames: list[TimedFrame] = []
        self._batch_crops = batch_crops
        self._pending: list[tuple[TimedFrame, Detection, Frame]] = []
        self._kept: dict[str, list[_Kept]] = {}
        self._seq = itertools.count()
        self.stats = PipelineStats()

    def feed(self, frames: Iterable[TimedFrame], *, decode_ahead: int = 8) -> None:
        """Search ``frames``; they are decoded up to ``decode_ahead`` frames ahead in a background
        thread while this one detects and embeds (0: decode inline)."""
        for frame in prefetched(frames, decode_ahead) if decode_ahead else frames:
            self.stats.frames_decoded += 1
            if self._motion_factory is not None:
                gate = self._gates.setdefault(frame.camera_id, self._motion_factory())
                if not gate.moving(frame.image):
                    continue
            self.stats.frames_searched += 1
            self._frames.append(frame)
            if len(self._frames) >= self._detect_batch:
                self._detect_pending()

    def _detect_pending(self) -> None:
        frames, self._frames = self._frames, []
        if not frames:
            return
        for frame, found in zip(frames, self.detector.detect([f.image for f in frames]), strict=True):
            for det in found:
                if det.label != "person" or det.height < MIN_PERSON_HEIGHT:
                    continue
                crop = frame.image[int(det.y1):int(det.y2), int(det.x1):int(det.x2)]
                if crop.size == 0:
                    continue
                self.stats.people_detected += 1
                self._pending.append((frame, det, crop))
        if len(self._pending) >= self._batch_crops:  # crops of many frames in one accelerator run
            self._score_pending()

    def finish(self) -> dict[str, list[tuple[Sighting, Frame]]]:
        """Best sightings per camera, best first, with their crops."""
        self._detect_pending()
        self._score_pending()
        return {cam: [(k.sighting, k.crop) for k in sorted(kept, reverse=True)] for cam, kept in self._kept.items()}

    def _score_pending(self) -> None:
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        crops = [crop for _, _, crop in pending]
        looks = None
        if len(self._query_vectors):
            looks = appearance(self._query_vectors, self.embedder.embed(crops))
        wants_color = self.query.upper_color is not None or self.query.lower_color is not None
        for i, (frame, det, crop) in enumerate(pending):
            look = float(looks[i]) if looks is not None else None
            heap = self._kept.setdefault(frame.camera_id, [])
            if not wants_color and look is not None and not self._admits(heap, look):
                continue  # a photo-only query: colours only describe the sightings that are kept
            upper, lower = colors.describe(crop)
            color = color_match(self.query, upper, lower)
            score = combine(look, color)
            if not self._admits(heap, score):
                continue
            sighting = Sighting(camera_id=frame.camera_id, time_ms=frame.time_ms,
                                box=Box(x1=round(det.x1, 1), y1=round(det.y1, 1), x2=round(det.x2, 1),
                                        y2=round(det.y2, 1)),
                                score=_clipped(score),
                                appearance=None if look is None else round(look, 4),
                                color=None if color is None else round(color, 4),
                                upper=colors.dominant(upper), lower=colors.dominant(lower))
            entry = _Kept(sighting.score, next(self._seq), sighting, crop.copy())
            if len(heap) < self.query.top_k:
                heapq.heappush(heap, entry)
            else:
                heapq.heapreplace(heap, entry)

    def _admits(self, heap: list[_Kept], score: float) -> bool:
        """Whether a sighting scoring ``score`` makes the camera's top-K (a later equal score wins a tie)."""
        if score < self.query.min_score:
            return False
        return len(heap) < self.query.top_k or _clipped(score) >= heap[0].score


def _clipped(score: float) -> float:
    return round(min(1.0, max(0.0, score)), 4)


def thumbnail_jpeg(crop: Frame) -> bytes:
    scale = THUMB_HEIGHT / max(1, crop.shape[0])
    small = cv2.resize(crop, (max(1, round(crop.shape[1] * scale)), THUMB_HEIGHT))
    ok, data = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 85])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return bytes(data.tobytes())


PipelineFactory = Callable[[SearchQuery], SearchPipeline]


class ShardRunner:
    """Runs shard ``index`` of a stored plan and publishes its result."""

    def __init__(self, footage: ObjectStore, media: ObjectStore, pipeline: PipelineFactory) -> None:
        self._footage = footage
        self._media = media
        self._pipeline = pipeline

    def run(self, search_id: str, index: int) -> ShardResult:
        started = time.perf_counter()
        plan = SearchPlan.model_validate_json(self._media.get(plan_key(search_id)))
        query = SearchQuery.model_validate_json(self._media.get(query_key(search_id)))
        if not 0 <= index < len(plan.shards):
            raise PermanentError(f"search {search_id} has {len(plan.shards)} shards, not {index + 1}")
        items = plan.shards[index]
        pipeline = self._pipeline(query)
        errors: list[str] = []
        pipeline.feed(self._frames(items, query.sample_fps, errors))
        sightings = []
        for camera_id, kept in pipeline.finish().items():
            for n, (sighting, crop) in enumerate(kept):
                key = f"searches/{search_id}/thumbs/{camera_id}/{sighting.time_ms}-{index}-{n}.jpg"
                self._media.put(key, thumbnail_jpeg(crop), content_type="image/jpeg")
                sightings.append(sighting.model_copy(update={"thumbnail_key": key}))
        result = ShardResult(search_id=search_id, index=index, sightings=sightings,
                             footage_seconds=round(plan.shard_seconds(index), 3),
                             frames_decoded=pipeline.stats.frames_decoded,
                             frames_searched=pipeline.stats.frames_searched,
                             people_detected=pipeline.stats.people_detected, detector=pipeline.detector.name,
                             embedder=pipeline.embedder.name, elapsed_s=round(time.perf_counter() - started, 3),
                             errors=errors)
        self._media.put(shard_key(search_id, index), result.model_dump_json().encode(),
                        content_type="application/json")
        self._media.put(done_key(search_id, index), json.dumps({"search_id": search_id, "index": index}).encode(),
                        content_type="application/json")  # last: its notification means "result is there"
        logger.info("shard done", extra={"search_id": search_id, "index": index, "sightings": len(sightings),
                                         "footage_s": result.footage_seconds, "elapsed_s": result.elapsed_s})
        return result

    def _frames(self, items: Iterable[ShardItem], sample_fps: float, errors: list[str]) -> Iterator[TimedFrame]:
        """The sampled frames of every segment; one that is missing or undecodable is skipped and noted."""
        for item in items:
            try:
                yield from iter_frames(self._footage.get(item.key), camera_id=item.camera_id,
                                       start_ms=item.segment_start_ms, sample_fps=sample_fps, from_ms=item.from_ms,
                                       to_ms=item.to_ms)
            except (PermanentError, ObjectMissing, av.FFmpegError) as exc:
                logger.warning("segment skipped", extra={"key": item.key, "error": str(exc)})
                errors.append(f"{item.key}: {exc}")
