"""Pure post-processing shared by every detector plugin: decode, thresholds, NMS, labels, scaling.

Nothing here touches a model: each function maps arrays to arrays (or to :class:`Detection`s), so
it is unit-tested on hand-made numbers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from chalicelib.video.detect import Detection

FloatArray = NDArray[np.float32]

# COCO-80 class index → the labels the platform reports (search: person; monitoring: vehicles too).
COCO_LABELS: Mapping[int, str] = {0: "person", 1: "bicycle", 2: "car", 3: "motorcycle", 5: "bus", 7: "truck"}


def letterbox_scale(width: int, height: int, size: int) -> float:
    """The factor a frame is resized by to fit a ``size``×``size`` square keeping its aspect."""
    if width <= 0 or height <= 0 or size <= 0:
        raise ValueError("sizes must be positive")
    return min(size / width, size / height)


def input_shape(width: int, height: int, size: int, *, stride: int = 32) -> tuple[int, int]:
    """The (height, width) of a spatially dynamic model's input for a frame: the frame fitted into
    ``size`` on its long side, each side rounded up to the network stride (4:3 → 320×416, not 416²)."""
    scale = letterbox_scale(width, height, size)
    return (-(-round(height * scale) // stride) * stride, -(-round(width * scale) // stride) * stride)


def yolox_grids(height: int, width: int | None = None,
                strides: Sequence[int] = (8, 16, 32)) -> tuple[FloatArray, FloatArray]:
    """Per-anchor grid offsets (A×2) and strides (A×1) for a YOLOX input (square when ``width`` is
    omitted), in output order."""
    width = height if width is None else width
    grids, expanded = [], []
    for stride in strides:
        rows, cols = height // stride, width // stride
        ys, xs = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
        grids.append(np.stack((xs, ys), axis=2).reshape(-1, 2))
        expanded.append(np.full((rows * cols, 1), stride))
    return np.concatenate(grids).astype(np.float32), np.concatenate(expanded).astype(np.float32)


def decode_yolox(raw: FloatArray, grids: FloatArray, strides: FloatArray) -> FloatArray:
    """YOLOX head output (A×(5+C)) → A×(4+1+C): corner boxes (x1, y1, x2, y2), objectness, class scores."""
    if raw.ndim != 2 or raw.shape[0] != grids.shape[0]:
        raise ValueError(f"raw output {raw.shape} does not match {grids.shape[0]} anchors")
    xy = (raw[:, :2] + grids) * strides
    wh = np.exp(np.minimum(raw[:, 2:4], 10.0)) * strides  # clip: exp overflow on garbage input
    boxes = np.concatenate((xy - wh / 2, xy + wh / 2), axis=1)
    return np.concatenate((boxes, raw[:, 4:]), axis=1).astype(np.float32)


def nms(boxes: FloatArray, scores: FloatArray, iou_threshold: float) -> list[int]:
    """Greedy non-maximum suppression; indices kept, best score first."""
    if len(boxes) == 0:
        return []
    x1, y1, x2, y2 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    areas = np.maximum(0.0, x2 - x1) * np.maximum(0.0, y2 - y1)
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    while order.size:
        i = int(order[0])
        keep.append(i)
        rest = order[1:]
        w = np.maximum(0.0, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]))
        h = np.maximum(0.0, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]))
        inter = w * h
        iou = inter / np.maximum(areas[i] + areas[rest] - inter, 1e-9)
        order = rest[iou <= iou_threshold]
    return keep


def select(decoded: FloatArray, *, labels: Mapping[int, str], thresholds: Mapping[str, float],
           iou_threshold: float = 0.45, scale: float = 1.0, width: int | None = None,
           height: int | None = None) -> list[Detection]:
    """Scores = objectness × class score; per wanted label threshold, class-wise NMS, boxes scaled back
    by ``1/scale`` (the letterbox factor) and clipped to the frame."""
    if decoded.size == 0:
        return []
    objectness = decoded[:, 4]
    out: list[Detection] = []
    for class_index, label in labels.items():
        threshold = thresholds.get(label)
        if threshold is None:
            continue
        scores = objectness * decoded[:, 5 + class_index]
        mask = scores >= threshold
        if not mask.any():
            continue
        boxes = decoded[mask, :4] / scale
        kept_scores = scores[mask]
        if width is not None:
            boxes[:, [0, 2]] = np.clip(boxes[:, [0, 2]], 0, width)
        if height is not None:
            boxes[:, [1, 3]] = np.clip(boxes[:, [1, 3]], 0, height)
        for i in nms(boxes, kept_scores, iou_threshold):
            x1, y1, x2, y2 = (float(v) for v in boxes[i])
            if x2 - x1 >= 1 and y2 - y1 >= 1:
                out.append(Detection(x1, y1, x2, y2, float(kept_scores[i]), label))
    out.sort(key=lambda d: -d.score)
    return out


def boxes_to_detections(boxes: Sequence[Sequence[float]], scores: Sequence[float], label: str, *,
                        threshold: float, iou_threshold: float = 0.45, scale: float = 1.0) -> list[Detection]:
    """Plain (x, y, w, h) boxes with scores (e.g. a classical detector) → thresholded, NMS'd detections."""
    if len(boxes) == 0:
        return []
    arr = np.asarray(boxes, dtype=np.float32).reshape(-1, 4) / scale
    corners = np.concatenate((arr[:, :2], arr[:, :2] + arr[:, 2:]), axis=1)
    sc = np.asarray(scores, dtype=np.float32).reshape(-1)
    mask = sc >= threshold
    corners, sc = corners[mask], sc[mask]
    out = []
    for i in nms(corners, sc, iou_threshold):
        x1, y1, x2, y2 = (float(v) for v in corners[i])
        out.append(Detection(x1, y1, x2, y2, float(sc[i]), label))
    return out
