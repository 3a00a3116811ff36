"""Per-camera scene baseline: what an empty scene looks like to this camera, in its light and its noise.

A 64×48 grey thumbnail (an area average: sensor noise, rain streaks and compression blocks mostly
average out) is compared with an adaptive background. The frame's overall light is first brought
to the background's (dawn, dusk, clouds and auto-exposure change every pixel alike), and a pixel
only counts as changed beyond ``K_SIGMA`` times its own learnt noise (night gain and rain raise
it; small camera shake raises it along edges). A frame *wakes* the detector when the changed
pixels form one blob of at least ``MIN_BLOB`` thumbnail pixels (a person 1/8 of the frame high is
about 20). The background learns from unchanged pixels only, slowly from changed ones (a parked
car becomes background in minutes), so a person standing still stays foreground.

``exposed`` gives the detector a frame brightened to a daytime level when the scene is dark: the
shared detector finds ~20 % more people in night-dark footage that way (tests/functional/
test_monitor_real_pixels.py measures it).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from chalicelib.video.detect import Frame

SIZE = (64, 48)
K_SIGMA = 4.0  # changed beyond this many standard deviations of the pixel's own noise
FLOOR = 6.0  # … and beyond this many grey levels (compression ringing, quantisation)
MIN_BLOB = 6  # thumbnail pixels one changed region must cover to wake the detector
ALPHA = 0.05  # background learning rate per frame (unchanged pixels)
ABSORB = 0.005  # … for changed pixels: what stays put long enough becomes background
WARMUP = 8  # frames learnt at a fast rate after a (re)start, all of them woken (the scene is not known yet)
DAY_LEVEL = 110.0  # mean grey level the detector sees daytime footage at
MAX_GAIN = 6.0
DARK_LEVEL = 70.0  # below this mean level the scene is "dark" and frames are brightened for the detector

Grey = NDArray[np.float32]


def thumbnail(frame: Frame) -> Grey:
    grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) if frame.ndim == 3 else frame
    return np.asarray(cv2.resize(grey, SIZE, interpolation=cv2.INTER_AREA), dtype=np.float32)


def _pack(array: Grey | None) -> str | None:
    return None if array is None else base64.b64encode(array.astype(np.float16).tobytes()).decode()


def _unpack(text: str | None) -> Grey | None:
    if text is None:
        return None
    return np.frombuffer(base64.b64decode(text), dtype=np.float16).astype(np.float32).reshape(SIZE[1], SIZE[0])


@dataclass
class SceneBaseline:
    background: Grey | None = None
    variance: Grey | None = None
    level: float = 0.0  # the background's mean grey level (the camera's light now)
    frames: int = 0
    woken: int = 0

    @property
    def noise(self) -> float:
        """Typical per-pixel noise (grey levels, thumbnail scale)."""
        return float(np.sqrt(np.median(self.variance))) if self.variance is not None else 0.0

    @property
    def dark(self) -> bool:
        return self.frames > 0 and self.level < DARK_LEVEL

    def changed(self, frame: Frame) -> int:
        """Learn from ``frame``; the size (thumbnail pixels) of its largest region unlike the background."""
        small = thumbnail(frame)
        self.frames += 1
        if self.background is None or self.variance is None or self.background.shape != small.shape:
            self.background, self.variance = small, np.full_like(small, FLOOR**2)
            self.level = float(small.mean())
            return small.size
        light = float(np.median(self.background)) / max(float(np.median(small)), 1.0)
        diff = small * light - self.background
        moving = (np.abs(diff) > K_SIGMA * np.sqrt(self.variance) + FLOOR).astype(np.uint8)
        warming = self.frames <= WARMUP
        rate = np.where(moving > 0, ABSORB, ALPHA).astype(np.float32)
        if warming:
            rate[:] = 0.3
        # the background follows the light (the global change) at once, then learns the pixels' own change
        self.background = self.background / light
        self.background += rate * (small - self.background)
        quiet = np.minimum(diff * diff, (K_SIGMA * K_SIGMA) * self.variance + FLOOR**2)
        self.variance += rate * (quiet - self.variance)
        self.level = float(self.background.mean())
        if warming:
            return small.size
        if not moving.any():
            return 0
        count, _, stats, _ = cv2.connectedComponentsWithStats(moving, connectivity=8)
        return int(stats[1:, cv2.CC_STAT_AREA].max()) if count > 1 else 0

    def wakes(self, frame: Frame) -> bool:
        """Whether ``frame`` needs the detector (a region changed beyond the scene's noise)."""
        woke = self.changed(frame) >= MIN_BLOB
        self.woken += woke
        return woke

    def exposed(self, frame: Frame) -> Frame:
        """``frame`` brightened to a daytime level when the scene is dark (the detector misses dim people)."""
        if not self.dark:
            return frame
        gain = min(MAX_GAIN, DAY_LEVEL / max(self.level, 1.0))
        return np.asarray(cv2.convertScaleAbs(frame, alpha=gain), dtype=np.uint8)

    def to_dict(self) -> dict[str, Any]:
        return {"background": _pack(self.background), "variance": _pack(self.variance), "level": self.level,
                "frames": self.frames, "woken": self.woken}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SceneBaseline:
        return cls(background=_unpack(data.get("background")), variance=_unpack(data.get("variance")),
                   level=float(data.get("level", 0.0)), frames=int(data.get("frames", 0)),
                   woken=int(data.get("woken", 0)))
