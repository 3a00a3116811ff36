"""Shared by the search tests and benchmark: the hand-checked people of vtest.avi and a frame cache."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from chalicelib.errors import ObjectMissing
from chalicelib.ports import ObjectInfo
from chalicelib.services.search.shard import TimedFrame, iter_frames
from chalicelib.video.detect import Detection, Frame

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
VIDEO = SHARED / "data" / "video" / "vtest.avi"
MODELS = SHARED / "models"
PEOPLE = ROOT / "tests" / "data" / "search" / "vtest_people.json"
FPS = 10
CAMERA = "VTEST"


@dataclass(frozen=True)
class Person:
    name: str
    description: str
    boxes: dict[int, tuple[int, int, int, int]]  # frame index → (x1, y1, x2, y2)


def people() -> dict[str, Person]:
    data = json.loads(PEOPLE.read_text())
    return {name: Person(name, p["description"], {int(f): tuple(b) for f, b in p["boxes"].items()})
            for name, p in data["people"].items()}


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def is_person(person: Person, time_ms: int, box: Sequence[float], *, min_iou: float = 0.5) -> bool:
    """Whether a sighting at ``time_ms`` (vtest clock from 0) is this person's hand-checked box."""
    frame = round(time_ms * FPS / 1000)
    truth = person.boxes.get(frame)
    return truth is not None and iou(truth, box) >= min_iou


@lru_cache(maxsize=2)
def sampled_frames(sample_fps: float = 2.0) -> tuple[TimedFrame, ...]:
    return tuple(iter_frames(VIDEO, camera_id=CAMERA, start_ms=0, sample_fps=sample_fps))


def crop(frame: Frame, box: Sequence[int]) -> Frame:
    x1, y1, x2, y2 = box
    return np.ascontiguousarray(frame[y1:y2, x1:x2])


class CachingDetector:
    """The real detector, run once per frame array (tests replay many queries over the same frames)."""

    def __init__(self, detector: object) -> None:
        self._detector = detector
        self.name = detector.name  # type: ignore[attr-defined]
        self.labels = detector.labels  # type: ignore[attr-defined]
        self._cache: dict[int, list[Detection]] = {}

    def detect(self, frames: Sequence[Frame]) -> list[list[Detection]]:
        out = []
        for f in frames:
            key = f.__array_interface__["data"][0]
            if key not in self._cache:
                self._cache[key] = self._detector.detect([f])[0]  # type: ignore[attr-defined]
            out.append(self._cache[key])
        return out


class CachingEmbedder:
    """The real embedder, run once per distinct crop (keyed by the crop's memory and shape)."""

    def __init__(self, embedder: object) -> None:
        self._embedder = embedder
        self.name = embedder.name  # type: ignore[attr-defined]
        self.dim = embedder.dim  # type: ignore[attr-defined]
        self._cache: dict[tuple[int, tuple[int, ...]], np.ndarray] = {}

    def embed(self, crops: Sequence[Frame]) -> np.ndarray:
        keys = [(c.__array_interface__["data"][0], c.shape) for c in crops]
        missing = [i for i, k in enumerate(keys) if k not in self._cache]
        if missing:
            vectors = self._embedder.embed([crops[i] for i in missing])  # type: ignore[attr-defined]
            for i, v in zip(missing, vectors, strict=True):
                self._cache[keys[i]] = v
        return np.stack([self._cache[k] for k in keys]) if keys else np.zeros((0, self.dim), np.float32)


class InlineBatchExecutor:
    """A BatchExecutor that runs each task in this process at submit time (tests: deterministic order)."""

    def __init__(self) -> None:
        from chalicelib.ports import BatchJobStatus

        self._status_type = BatchJobStatus
        self.jobs: dict[str, tuple[int, int]] = {}

    def submit(self, job_name: str, entry_point: str, size: int, parameters: Mapping[str, str]) -> str:
        from local.lambda_runtime import resolve_handler

        failed = 0
        for index in range(size):
            try:
                resolve_handler(entry_point)(index, dict(parameters))  # type: ignore[arg-type]
            except Exception:
                failed += 1
        self.jobs[job_name] = (size, failed)
        return job_name

    def status(self, job_id: str):
        size, failed = self.jobs[job_id]
        return self._status_type(job_id=job_id, total=size, succeeded=size - failed, failed=failed)


def write_clip(path: Path, first_frame: int, frames: int) -> Path:
    """A cut of vtest.avi (MPEG-4 in .avi, like the source) for ingest tests."""
    import av as _av

    with _av.open(str(VIDEO)) as src, _av.open(str(path), "w") as dst:
        stream_in = src.streams.video[0]
        out = dst.add_stream("mpeg4", rate=FPS)
        out.width, out.height, out.pix_fmt = stream_in.width, stream_in.height, "yuv420p"
        out.bit_rate = 4_000_000
        for i, frame in enumerate(src.decode(stream_in)):
            if i < first_frame:
                continue
            if i >= first_frame + frames:
                break
            image = frame.to_ndarray(format="bgr24")
            for packet in out.encode(_av.VideoFrame.from_ndarray(image, format="bgr24")):
                dst.mux(packet)
        for packet in out.encode():
            dst.mux(packet)
    return path


def png_base64(image: Frame) -> str:
    import base64

    import cv2

    ok, data = cv2.imencode(".png", image)
    assert ok
    return base64.b64encode(data.tobytes()).decode()


COLOR_LABELS = ROOT / "tests" / "data" / "search" / "vtest_colors.json"


@dataclass(frozen=True)
class LabelledCrop:
    frame: int
    box: tuple[int, int, int, int]
    upper: frozenset[str]  # the colour a person names first, and the others they would accept
    lower: frozenset[str]
    upper_first: str


def labelled_crops() -> list[tuple[LabelledCrop, Frame]]:
    """The hand-labelled person crops of vtest.avi with their pixels."""
    data = json.loads(COLOR_LABELS.read_text())["crops"]
    wanted = {c["frame"] for c in data}
    images: dict[int, Frame] = {}
    import av as _av

    with _av.open(str(VIDEO)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i in wanted:
                images[i] = frame.to_ndarray(format="bgr24")  # type: ignore[assignment]  # bgr24 is uint8
            if i >= max(wanted):
                break
    out = []
    for c in data:
        x1, y1, x2, y2 = c["box"]
        label = LabelledCrop(c["frame"], (x1, y1, x2, y2), frozenset([c["upper"], *c["upper_also"]]),
                             frozenset([c["lower"], *c["lower_also"]]), c["upper"])
        out.append((label, np.ascontiguousarray(images[c["frame"]][max(0, y1):y2, max(0, x1):x2])))
    return out


def color_accuracy() -> float:
    """Share of body regions (upper and lower of every labelled crop) whose dominant colour a person accepts."""
    from chalicelib.video import colors

    correct = total = 0
    for label, pixels in labelled_crops():
        upper, lower = colors.describe(pixels)
        correct += (colors.dominant(upper) in label.upper) + (colors.dominant(lower) in label.lower)
        total += 2
    return correct / total


class DigestCachingDetector:
    """The real detector, run once per distinct frame content (two paths decoding the same segment bytes
    get equal frames in different arrays); ``calls`` counts the frames it really ran on."""

    def __init__(self, detector: object) -> None:
        self._detector = detector
        self.name = detector.name  # type: ignore[attr-defined]
        self.labels = detector.labels  # type: ignore[attr-defined]
        self._cache: dict[bytes, list[Detection]] = {}
        self.calls = 0

    def detect(self, frames: Sequence[Frame]) -> list[list[Detection]]:
        import hashlib

        keys = [hashlib.blake2b(np.ascontiguousarray(f[::4, ::4]).tobytes(), digest_size=16).digest() for f in frames]
        missing = [i for i, k in enumerate(keys) if k not in self._cache]
        if missing:
            found = self._detector.detect([frames[i] for i in missing])  # type: ignore[attr-defined]
            self.calls += len(missing)
            for i, dets in zip(missing, found, strict=True):
                self._cache[keys[i]] = dets
        return [self._cache[k] for k in keys]


@lru_cache(maxsize=1)
def vtest_segments(seconds: float = 80.0) -> tuple[tuple[int, bytes, float], ...]:
    """(start ms, MPEG-TS bytes, duration s) of vtest.avi as the platform stores it (10 s segments)."""
    from chalicelib.video.segmenter import iter_segments

    out = []
    for seg in iter_segments(VIDEO, segment_seconds=10.0, preset="veryfast", start_time_s=0.0):
        if seg.start_s >= seconds:
            break
        out.append((round(seg.start_s * 1000), seg.data, seg.duration_s))
    return tuple(out)


AGREEMENT_QUERIES = (("A", 60), ("A", 300), ("B", 50), ("B", 280), ("C", 80), ("C", 240), ("D", 450), ("D", 700),
                     ("F", 450), ("F", 720))


def same_person(decoded, indexed, *, min_iou: float = 0.5) -> bool:  # type: ignore[no-untyped-def]
    """Whether a decode-path track's best sighting lies on an index track's box path (same frame, IoU ≥ 0.5)."""
    best = decoded.best
    box = (best.box.x1, best.box.y1, best.box.x2, best.box.y2)
    return any(t == best.time_ms and iou(box, b) >= min_iou for t, *b in indexed.path)


def index_agreement_at5(stages) -> tuple[float, list[str]]:  # type: ignore[no-untyped-def]
    """Agreement@5 of the indexed search with today's full-decode search on vtest.avi's stored segments.

    Both paths see the same sampled frames of the same MPEG-TS segments; for each photo query (the accuracy
    test's ten), the share of the decode path's top-5 tracks whose best sighting lies on the box path of one
    of the index's top-5 hits. Returns (mean agreement, one report line per query)."""
    import tempfile

    from chalicelib.models.search import SearchQuery
    from chalicelib.services.search.reducer import group_tracks
    from chalicelib.services.search.shard import SearchPipeline
    from chalicelib.services.search_index.indexer import SegmentIndexer
    from chalicelib.services.search_index.query import search_index
    from chalicelib.services.search_index.records import ModelTag
    from chalicelib.services.search_index.store import IndexStore

    detector, embedder = CachingDetector(stages.detector), CachingEmbedder(stages.embedder)
    per_segment = [(start, list(iter_frames(data, camera_id=CAMERA, start_ms=start, sample_fps=2.0)))
                   for start, data, _ in vtest_segments()]
    tag = ModelTag(embedder.name, stages.embedder_version)
    indexer = SegmentIndexer(detector, embedder, tag)  # type: ignore[arg-type]
    folder = tempfile.TemporaryDirectory()
    index = IndexStore(DirectoryStore(Path(folder.name)))
    for start, frames in per_segment:
        index.write_segment(tag, CAMERA, start, indexer.index_frames(CAMERA, start, frames).records, dim=embedder.dim)
    everything = [f for _, frames in per_segment for f in frames]
    photos = {round(f.time_ms / 100): f for f in sampled_frames(2.0)}
    everyone, scores, report = people(), [], []
    for name, at in AGREEMENT_QUERIES:
        vector = stages.embedder.embed([crop(photos[at].image, everyone[name].boxes[at])])
        query = SearchQuery(embeddings=vector.tolist(), embedder=embedder.name, top_k=20, min_score=0.5)
        pipeline = SearchPipeline(query, detector, embedder, motion=None)  # type: ignore[arg-type]
        pipeline.feed(everything, decode_ahead=0)
        decoded = group_tracks([s for s, _ in pipeline.finish().get(CAMERA, [])])[:5]
        indexed = search_index(index, tag, {CAMERA: (0, 10**7)}, query).hits[:5]
        agree = sum(any(same_person(d, h) for h in indexed) for d in decoded)
        scores.append(agree / len(decoded) if decoded else 1.0)
        report.append(f"{name}@{at}: {agree}/{len(decoded)} decode [{', '.join(f'{d.score:.3f}' for d in decoded)}] "
                      f"index [{', '.join(f'{h.track.score:.3f}' for h in indexed)}]")
    folder.cleanup()
    return sum(scores) / len(scores), report


class DirectoryStore:
    """An ObjectStore over a local directory (the benchmark's stand-in for the footage bucket)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.name = root.name

    def put(self, key: str, data: bytes, *, content_type: str = "application/octet-stream",
            metadata: Mapping[str, str] | None = None) -> None:
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    def get(self, key: str) -> bytes:
        try:
            return (self.root / key).read_bytes()
        except FileNotFoundError as exc:
            raise ObjectMissing(key) from exc

    def get_range(self, key: str, start: int, end: int) -> bytes:
        return self.get(key)[start:end + 1]

    def head(self, key: str) -> ObjectInfo:
        stat = (self.root / key).stat()
        return ObjectInfo(key=key, size=stat.st_size, etag="", content_type="", last_modified_ms=int(stat.st_mtime * 1000))

    def delete(self, key: str) -> None:
        (self.root / key).unlink(missing_ok=True)

    def keys(self, prefix: str = "") -> Iterator[str]:
        folder = self.root / prefix.rsplit("/", 1)[0] if "/" in prefix else self.root
        if not folder.is_dir():
            return
        for dirpath, _, files in os.walk(folder):
            for name in files:
                key = os.path.relpath(os.path.join(dirpath, name), self.root)
                if key.startswith(prefix):
                    yield key

    def presigned_post(self, key: str, *, max_bytes: int, expires_s: int, content_type: str | None = None):  # type: ignore[no-untyped-def]
        raise NotImplementedError

    def presigned_get(self, key: str, *, expires_s: int) -> str:
        return f"file://{self.root / key}"


def answers_dispatched_to_112(aws, *, wait_s: int = 0) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """The search answers queued for the police's receiving system (agency-dispatch), as the agency will get them."""
    sqs = aws.client("sqs")
    url = sqs.get_queue_url(QueueName=aws.catalog.queue("agency-dispatch").name)["QueueUrl"]
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_s).get("Messages", [])
    envelopes = [json.loads(m["Body"]) for m in got]
    return [json.loads(e["payload"]) for e in envelopes
            if e["target"] == "112" and str(e["dispatch_id"]).startswith("srch-")]
