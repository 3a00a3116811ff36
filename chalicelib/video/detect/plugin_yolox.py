"""ONNX YOLOX (COCO-80): letterboxed BGR 0–255 input, shared decode + NMS.

A model whose input height and width are symbolic (the registry prepares YOLOX that way: the
network is fully convolutional) is fed the frame at its own aspect ratio, padded only to the stride:
a 4:3 camera runs at 320×416 instead of 416×416, a quarter less work for the same detections.
A model with a fixed square input gets the classic square letterbox. When the batch is symbolic
too, the frames of one ``detect`` call that share an input shape run as one batch (what an
accelerator needs to be kept busy); a fixed batch of 1 runs them one by one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from chalicelib.video.detect import Detection, Frame, register_detector
from chalicelib.video.detect.postprocess import (
    COCO_LABELS,
    FloatArray,
    decode_yolox,
    input_shape,
    letterbox_scale,
    select,
    yolox_grids,
)

PAD_VALUE = 114
DEFAULT_SIZE = 416  # the long side of a spatially dynamic input (what YOLOX-nano was trained at)
DEFAULT_THRESHOLDS: Mapping[str, float] = {"person": 0.35, "car": 0.4, "bus": 0.4, "truck": 0.4,
                                           "bicycle": 0.4, "motorcycle": 0.4}


def letterbox(frame: Frame, height: int, width: int) -> tuple[NDArray[np.float32], float]:
    """Resize keeping aspect into ``height``×``width``, pad bottom/right with 114 → 1×3×H×W float32
    BGR 0–255, and the scale."""
    h, w = frame.shape[:2]
    scale = min(letterbox_scale(w, h, width), letterbox_scale(w, h, height))
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    canvas = cv2.copyMakeBorder(cv2.resize(frame, (nw, nh), interpolation=cv2.INTER_LINEAR), 0, height - nh, 0,
                                width - nw, cv2.BORDER_CONSTANT, value=(PAD_VALUE,) * 3)
    tensor = cv2.dnn.blobFromImage(canvas)  # HWC uint8 → 1×C×H×W float32, in C
    return np.asarray(tensor, dtype=np.float32), scale


@register_detector("yolox")
class YoloxDetector:
    """``build_detector("yolox", model_path, thresholds={"person": 0.3}, threads=2)``."""

    name = "yolox"
    labels = frozenset(COCO_LABELS.values())

    def __init__(self, model_path: str | Path | None = None, *, thresholds: Mapping[str, float] | None = None,
                 iou_threshold: float = 0.45, threads: int | None = None, session: Any = None) -> None:
        if session is None:
            from chalicelib.inference.registry import open_session

            if model_path is None:
                raise ValueError("a model path or a session is needed")
            session = open_session(Path(model_path), threads=threads)
        self._session = session
        model_input = session.get_inputs()[0]
        self._input_name: str = model_input.name
        batch, height, width = (model_input.shape[i] for i in (0, 2, 3))  # int, or a name when symbolic
        self.dynamic = not (isinstance(height, int) and isinstance(width, int))
        self.batched = not isinstance(batch, int)
        self.size = DEFAULT_SIZE if self.dynamic else int(height)
        self._grids: dict[tuple[int, int], tuple[FloatArray, FloatArray]] = {}
        self.thresholds = dict(DEFAULT_THRESHOLDS if thresholds is None else thresholds)
        self.iou_threshold = iou_threshold
        self.providers: list[str] = list(session.get_providers())
        self.detect([np.zeros((self.size, self.size, 3), dtype=np.uint8)])  # warm-up pays the load cost now

    def input_shape(self, frame: Frame) -> tuple[int, int]:
        """(height, width) this detector feeds the network for a frame of that size."""
        if not self.dynamic:
            return self.size, self.size
        return input_shape(frame.shape[1], frame.shape[0], self.size)

    def detect(self, frames: Sequence[Frame]) -> list[list[Detection]]:
        results: list[list[Detection]] = [[] for _ in frames]
        groups: dict[tuple[int, int], list[int]] = {}
        for i, frame in enumerate(frames):
            groups.setdefault(self.input_shape(frame), []).append(i)
        for shape, members in groups.items():
            if shape not in self._grids:
                self._grids[shape] = yolox_grids(*shape)
            chunks = [members] if self.batched else [[i] for i in members]
            for chunk in chunks:
                letterboxed = [letterbox(frames[i], *shape) for i in chunk]
                tensor = np.concatenate([t for t, _ in letterboxed]) if len(chunk) > 1 else letterboxed[0][0]
                raw = self._session.run(None, {self._input_name: tensor})[0]
                for row, i, (_, scale) in zip(raw, chunk, letterboxed, strict=True):
                    results[i] = select(decode_yolox(row, *self._grids[shape]), labels=COCO_LABELS,
                                        thresholds=self.thresholds, iou_threshold=self.iou_threshold, scale=scale,
                                        width=frames[i].shape[1], height=frames[i].shape[0])
        return results
