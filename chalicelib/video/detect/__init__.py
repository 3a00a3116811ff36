"""Object detection stage: one interface, one plugin per file, a registry keyed by type name.

Shared by the missing-person search shards and AI selective monitoring (never a copy of it).
A plugin takes a ready model (or none, for the classical fallback) and returns a fixed raw shape;
label mapping, thresholds and NMS are shared pure functions (postprocess.py).

    detector = build_detector("yolox", model_path)      # ONNX detector from the model registry
    detector = build_detector("hog")                     # classical fallback when no model is registered
    detections = detector.detect(frames)                 # frames: list of HxWx3 uint8 BGR arrays
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

Frame = NDArray[np.uint8]  # H×W×3, BGR, as OpenCV and PyAV's "bgr24" give it


@dataclass(frozen=True)
class Detection:
    """One object in one frame, in pixel coordinates of that frame."""

    x1: float
    y1: float
    x2: float
    y2: float
    score: float
    label: str  # "person", "car", ...

    @property
    def width(self) -> float:
        return self.x2 - self.x1

    @property
    def height(self) -> float:
        return self.y2 - self.y1


class Detector(Protocol):
    """Finds objects in a batch of frames; one list of detections per frame, in order."""

    name: str
    labels: frozenset[str]  # what this detector can report at all

    def detect(self, frames: Sequence[Frame]) -> list[list[Detection]]: ...


DetectorFactory = Callable[..., Detector]
_REGISTRY: dict[str, DetectorFactory] = {}


def register_detector(type_name: str) -> Callable[[DetectorFactory], DetectorFactory]:
    """Class decorator for plugins: ``@register_detector("yolox")``."""

    def decorator(factory: DetectorFactory) -> DetectorFactory:
        _REGISTRY[type_name] = factory
        return factory

    return decorator


def build_detector(type_name: str, *args: Any, **kwargs: Any) -> Detector:
    _load_plugins()
    try:
        factory = _REGISTRY[type_name]
    except KeyError as exc:
        raise ValueError(f"unknown detector type {type_name!r}; known: {sorted(_REGISTRY)}") from exc
    return factory(*args, **kwargs)


def _load_plugins() -> None:
    """Import the plugin modules so they register themselves (kept lazy: onnxruntime is heavy)."""
    import importlib
    import pkgutil

    for module in pkgutil.iter_modules(__path__):
        if module.name.startswith("plugin_"):
            importlib.import_module(f"{__name__}.{module.name}")
