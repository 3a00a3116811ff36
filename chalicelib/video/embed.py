"""Person re-identification: one interface, an ONNX OSNet plugin and a colour-histogram fallback.

``embed(crops)`` takes N person crops (H×W×3 uint8 BGR, any size) and returns an N×D float32
array of L2-normalised descriptors, so cosine similarity is a dot product. The ONNX plugin runs
all N crops in one batched inference (crops from many frames are batched by the caller).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np
from numpy.typing import NDArray

from chalicelib.video.detect import Frame

Embeddings = NDArray[np.float32]
REID_HEIGHT, REID_WIDTH = 256, 128
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


class Embedder(Protocol):
    name: str
    dim: int

    def embed(self, crops: Sequence[Frame]) -> Embeddings: ...


def l2_normalise(vectors: NDArray[np.float32]) -> Embeddings:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    out: Embeddings = (vectors / np.maximum(norms, 1e-12)).astype(np.float32)
    return out


def reid_tensor(crops: Sequence[Frame]) -> NDArray[np.float32]:
    """N crops → N×3×256×128 float32: RGB, /255, ImageNet mean/std (pure, unit-tested)."""
    resized = [cv2.resize(crop, (REID_WIDTH, REID_HEIGHT), interpolation=cv2.INTER_LINEAR) for crop in crops]
    # one C++ pass: BGR→RGB, HWC→NCHW, (p − 255·mean) / 255; then the per-channel std
    batch = cv2.dnn.blobFromImages(resized, scalefactor=1 / 255.0,
                                                        mean=tuple(float(m) * 255 for m in IMAGENET_MEAN),
                                                        swapRB=True)
    normalised: NDArray[np.float32] = np.asarray(batch / IMAGENET_STD[None, :, None, None], dtype=np.float32)
    return normalised


class OsnetEmbedder:
    """OSNet (x0.25, MSMT17) ONNX model: 512-d appearance embeddings."""

    name = "osnet"

    def __init__(self, model_path: str | Path | None = None, *, threads: int | None = None, max_batch: int = 64,
                 session: Any = None) -> None:
        if session is None:
            from chalicelib.inference.registry import open_session

            if model_path is None:
                raise ValueError("a model path or a session is needed")
            session = open_session(Path(model_path), threads=threads)
        self._session = session
        self._input_name: str = session.get_inputs()[0].name
        self.dim = int(session.get_outputs()[0].shape[1])
        self.max_batch = max_batch
        self.embed([np.zeros((REID_HEIGHT, REID_WIDTH, 3), dtype=np.uint8)])  # warm-up

    def embed(self, crops: Sequence[Frame]) -> Embeddings:
        if not crops:
            return np.zeros((0, self.dim), dtype=np.float32)
        parts = []
        for start in range(0, len(crops), self.max_batch):
            tensor = reid_tensor(crops[start:start + self.max_batch])
            parts.append(np.asarray(self._session.run(None, {self._input_name: tensor})[0], dtype=np.float32))
        return l2_normalise(np.concatenate(parts))


class HistogramEmbedder:
    """Fallback without a model: HSV colour histograms of the upper and lower body, concatenated."""

    name = "color-histogram"

    def __init__(self, bins: tuple[int, int, int] = (12, 4, 4)) -> None:
        self.bins = bins
        self.dim = 2 * bins[0] * bins[1] * bins[2]

    def embed(self, crops: Sequence[Frame]) -> Embeddings:
        out = np.zeros((len(crops), self.dim), dtype=np.float32)
        for i, crop in enumerate(crops):
            hsv = cv2.cvtColor(cv2.resize(crop, (64, 128)), cv2.COLOR_BGR2HSV)
            halves = (hsv[16:64, 8:56], hsv[64:120, 8:56])  # torso and legs, trimmed of background edges
            parts = [cv2.calcHist([h], [0, 1, 2], None, list(self.bins), [0, 180, 0, 256, 0, 256]).reshape(-1)
                     for h in halves]
            out[i] = np.sqrt(np.concatenate(parts))  # Hellinger: cosine on square roots
        return l2_normalise(out)


def build_embedder(session: Any | None) -> Embedder:
    """OSNet on its ONNX session when the model is available, the histogram descriptor otherwise."""
    if session is None:
        return HistogramEmbedder()
    return OsnetEmbedder(session=session)
