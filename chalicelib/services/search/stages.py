"""The detector and embedder a search uses, built once per process from the model resolver.

YOLOX + OSNet when their ONNX files resolve (models bucket, or ``../shared/models`` in development);
otherwise OpenCV's HOG people detector and the colour-histogram descriptor — the result records
which were used, so a degraded search is visible as such.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from chalicelib.ports import ObjectStore
from chalicelib.video.detect import Detector, build_detector
from chalicelib.video.embed import Embedder, build_embedder
from chalicelib.video.models import DETECTOR_FILE, REID_FILE, resolve_model


@dataclass(frozen=True)
class Stages:
    detector: Detector
    embedder: Embedder


_lock = threading.Lock()
_built: dict[tuple[str | None, int | None], Stages] = {}


def load_stages(models: ObjectStore | None = None, *, threads: int | None = None) -> Stages:
    """Cached per (models bucket, threads): containers and pool workers load the models once."""
    cache_key = (None if models is None else models.name, threads)
    with _lock:
        if cache_key not in _built:
            detector_path = resolve_model(DETECTOR_FILE, store=models)
            reid_path = resolve_model(REID_FILE, store=models)
            detector = (build_detector("yolox", detector_path, threads=threads, thresholds={"person": 0.4})
                        if detector_path is not None else build_detector("hog"))
            _built[cache_key] = Stages(detector=detector, embedder=build_embedder(reid_path, threads=threads))
        return _built[cache_key]
