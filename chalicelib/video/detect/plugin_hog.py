"""Classical fallback: OpenCV's HOG + linear SVM people detector (no model file needed).

Slower and less accurate than the ONNX detector; used only when no detector model is registered,
and reported as ``hog`` so results say which detector produced them.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from chalicelib.video.detect import Detection, Frame, register_detector
from chalicelib.video.detect.postprocess import boxes_to_detections


@register_detector("hog")
class HogDetector:
    """``build_detector("hog")``; frames are scaled to ``width`` (speed) and boxes scaled back."""

    name = "hog"
    labels = frozenset({"person"})

    def __init__(self, *, width: int = 640, threshold: float = 0.3, iou_threshold: float = 0.4) -> None:
        self._hog = cv2.HOGDescriptor()
        self._hog.setSVMDetector(np.asarray(cv2.HOGDescriptor.getDefaultPeopleDetector(), dtype=np.float32))
        self.width = width
        self.threshold = threshold
        self.iou_threshold = iou_threshold

    def detect(self, frames: Sequence[Frame]) -> list[list[Detection]]:
        results = []
        for frame in frames:
            scale = min(1.0, self.width / frame.shape[1])
            small = cv2.resize(frame, None, fx=scale, fy=scale) if scale < 1.0 else frame
            boxes, weights = self._hog.detectMultiScale(small, winStride=(8, 8), padding=(8, 8), scale=1.05)
            scores = [float(w) for w in np.asarray(weights).reshape(-1)]
            # SVM margins are unbounded: squash to 0..1 so thresholds read like the ONNX detector's.
            squashed = [1.0 / (1.0 + float(np.exp(-s))) for s in scores]
            dets = boxes_to_detections([list(map(float, b)) for b in boxes], squashed, "person",
                                       threshold=self.threshold, iou_threshold=self.iou_threshold, scale=scale)
            results.append(dets)
        return results
