"""Motion gate: frame differencing on a downscaled, blurred gray image; still frames are skipped.

A frame "has motion" when the share of pixels whose gray level changed by more than
``pixel_threshold`` since the last frame that had motion (or the first frame) is at least
``min_changed``. The first frame always counts as moving, so a stationary person is still seen once.
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from chalicelib.video.detect import Frame


class MotionGate:
    def __init__(self, *, width: int = 160, pixel_threshold: int = 20, min_changed: float = 0.002) -> None:
        self.width = width
        self.pixel_threshold = pixel_threshold
        self.min_changed = min_changed
        self._reference: NDArray[np.uint8] | None = None

    def _small(self, frame: Frame) -> NDArray[np.uint8]:
        h, w = frame.shape[:2]
        height = max(1, round(h * self.width / w))
        # bilinear to twice the size, then a 2:1 area average: close to a direct area resize (within a
        # few grey levels), at a fifth of its cost for the non-integer ratios camera sizes give
        twice = cv2.resize(frame, (2 * self.width, 2 * height), interpolation=cv2.INTER_LINEAR)
        gray = cv2.cvtColor(cv2.resize(twice, (self.width, height), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2GRAY)
        blurred: NDArray[np.uint8] = np.asarray(cv2.GaussianBlur(gray, (5, 5), 0), dtype=np.uint8)
        return blurred

    def changed_share(self, frame: Frame) -> float:
        """Share of changed pixels against the reference (1.0 for the first frame)."""
        small = self._small(frame)
        if self._reference is None or self._reference.shape != small.shape:
            self._reference = small
            return 1.0
        share = float(np.count_nonzero(cv2.absdiff(small, self._reference) > self.pixel_threshold)) / small.size
        if share >= self.min_changed:
            self._reference = small
        return share

    def moving(self, frame: Frame) -> bool:
        return self.changed_share(frame) >= self.min_changed

    def reset(self) -> None:
        self._reference = None
