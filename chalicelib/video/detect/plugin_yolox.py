"""ONNX YOLOX-nano (COCO-80): letterboxed BGR 0–255 input, batch fixed at 1, shared decode + NMS."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from chalicelib.video.detect import Detection, Frame, register_detector
from chalicelib.video.detect.postprocess import COCO_LABELS, decode_yolox, letterbox_scale, select, yolox_grids

PAD_VALUE = 114
DEFAULT_THRESHOLDS: Mapping[str, float] = {"person": 0.35, "car": 0.4, "bus": 0.4, "truck": 0.4,
                                           "bicycle": 0.4, "motorcycle": 0.4}


def letterbox(frame: Frame, size: int) -> tuple[NDArray[np.float32], float]:
    """Resize keeping aspect, pad bottom/right with 114 → 1×3×size×size float32 BGR 0–255, and the scale."""
    h, w = frame.shape[:2]
    scale = letterbox_scale(w, h, size)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    canvas = np.full((size, size, 3), PAD_VALUE, dtype=np.uint8)
    canvas[:nh, :nw] = cv2.resize(frame, (nw, nh), interpolation=cv2.INTER_LINEAR)
    return np.ascontiguousarray(canvas.transpose(2, 0, 1)[None], dtype=np.float32), scale


@register_detector("yolox")
class YoloxDetector:
    """``build_detector("yolox", model_path, thresholds={"person": 0.3}, threads=2)``."""

    name = "yolox"
    labels = frozenset(COCO_LABELS.values())

    def __init__(self, model_path: str | Path, *, thresholds: Mapping[str, float] | None = None,
                 iou_threshold: float = 0.45, threads: int | None = None, session: Any = None) -> None:
        if session is None:
            from chalicelib.video.models import open_session

            session = open_session(Path(model_path), threads=threads)
        self._session = session
        model_input = session.get_inputs()[0]
        self._input_name: str = model_input.name
        self.size = int(model_input.shape[2]) if isinstance(model_input.shape[2], int) else 416
        self._grids, self._strides = yolox_grids(self.size)
        self.thresholds = dict(DEFAULT_THRESHOLDS if thresholds is None else thresholds)
        self.iou_threshold = iou_threshold
        self.providers: list[str] = list(session.get_providers())
        self.detect([np.zeros((self.size, self.size, 3), dtype=np.uint8)])  # warm-up pays the load cost now

    def detect(self, frames: Sequence[Frame]) -> list[list[Detection]]:
        results: list[list[Detection]] = []
        for frame in frames:  # the exported graph has batch 1
            tensor, scale = letterbox(frame, self.size)
            raw = self._session.run(None, {self._input_name: tensor})[0][0]
            decoded = decode_yolox(raw, self._grids, self._strides)
            results.append(select(decoded, labels=COCO_LABELS, thresholds=self.thresholds,
                                  iou_threshold=self.iou_threshold, scale=scale,
                                  width=frame.shape[1], height=frame.shape[0]))
        return results
