"""The detector and embedder a search uses, built once per process from the video model registry.

YOLOX + OSNet when the registry (or ``../shared/models`` in development) has them;
otherwise OpenCV's HOG people detector and the colour-histogram descriptor — the result records
which were used, so a degraded search is visible as such.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path

from chalicelib.ports import ObjectStore
from chalicelib.video.detect import Detector, build_detector
from chalicelib.video.embed import Embedder, build_embedder
from chalicelib.video.models import DETECTOR, REID, load_video_model


@dataclass(frozen=True)
class Stages:
    detector: Detector
    embedder: Embedder
    embedder_version: str = "builtin"  # the registry version (or the file's digest): index records carry it


def model_version(source: str) -> str:
    """``models/<name>/<version>`` → the version; a development file → the first 12 hex of its SHA-256."""
    if source.startswith("models/"):
        return source.rstrip("/").rsplit("/", 1)[-1]
    return hashlib.sha256(Path(source).read_bytes()).hexdigest()[:12]


_lock = threading.Lock()
_built: dict[tuple[str | None, int | None], Stages] = {}


def load_stages(models: ObjectStore | None = None, *, threads: int | None = None) -> Stages:
    """Cached per (models bucket, threads): containers and pool workers load the models once."""
    cache_key = (None if models is None else models.name, threads)
    with _lock:
        if cache_key not in _built:
            detector_model = load_video_model(DETECTOR, store=models, threads=threads)
            reid_model = load_video_model(REID, store=models, threads=threads)
            detector = (build_detector("yolox", session=detector_model.session, thresholds={"person": 0.4})
                        if detector_model is not None else build_detector("hog"))
            embedder = build_embedder(None if reid_model is None else reid_model.session)
            version = "builtin" if reid_model is None else model_version(reid_model.source)
            _built[cache_key] = Stages(detector=detector, embedder=embedder, embedder_version=version)
        return _built[cache_key]
