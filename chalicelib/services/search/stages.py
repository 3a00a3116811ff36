"""The detector and embedder a search uses, built once per process from the video model registry.

YOLOX + OSNet when the registry (or ``../shared/models`` in development) has them;
otherwise OpenCV's HOG people detector and the colour-histogram descriptor — the result records
which were used, so a degraded search is visible as such.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from chalicelib.ports import ObjectStore
from chalicelib.video.detect import Detector, build_detector
from chalicelib.video.embed import Embedder, build_embedder
from chalicelib.video.models import DETECTOR, REID, load_video_model


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
            detector_model = load_video_model(DETECTOR, store=models, threads=threads)
            reid_model = load_video_model(REID, store=models, threads=threads)
            detector = (build_detector("yolox", session=detector_model.session, thresholds={"person": 0.4})
                        if detector_model is not None else build_detector("hog"))
            embedder = build_embedder(None if reid_model is None else reid_model.session)
            _built[cache_key] = Stages(detector=detector, embedder=embedder)
        return _built[cache_key]
