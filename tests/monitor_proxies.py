"""Labelled proxies for the rules no real footage here shows: falls and night presence. They are proxies.

* *Fall* (no real fall footage exists in ../shared): the woman standing on the lawn in vtest.avi
  (frame 615, cut out by her difference from the empty plate) is pasted upright on the plate at
  1.5× (closer to the camera), then slumped over by 60°. Labels by construction: upright frames
  ``[0, UPRIGHT)``, down from frame ``UPRIGHT`` on. A fully horizontal paste is found by the shared
  YOLOX-nano at scores 0.1–0.3 only, below the rules' 0.4 floor: lying people are a known gap of
  this detector, not something these proxies hide.
* *Night*: vtest.avi's couple walking onto the lawn (hand-labelled frames 505–520) rendered by the
  fleet generator as an infra-red night camera at 01:00 (grey, 35 % of daylight, amplified real
  grain, JPEG); quiet night stretches the same way with rain.
"""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np
from monitor_fleet import FPS, Camera, Fleet, Placement, _foreground, material, render

UPRIGHT = 6
DOWN = 10
FALL_FOOT = (300, 520)
_WOMAN_FRAME, _WOMAN_BOX = 24, (369, 423, 49, 153)  # composite frame of "woman-stays-on-lawn", x y w h


def _rotated(image: np.ndarray, angle: float, scale: float) -> np.ndarray:
    h, w = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    size = (int(h * sin + w * cos), int(h * cos + w * sin))
    matrix[0, 2] += size[0] / 2 - w / 2
    matrix[1, 2] += size[1] / 2 - h / 2
    return np.asarray(cv2.warpAffine(image, matrix, size), dtype=np.uint8)


def _paste(plate: np.ndarray, crop: np.ndarray, alpha: np.ndarray, foot: tuple[int, int]) -> np.ndarray:
    out = plate.astype(np.float32)
    h, w = crop.shape[:2]
    x, y = foot[0] - w // 2, foot[1] - h
    weight = alpha[..., None].astype(np.float32) / 255.0
    out[y:y + h, x:x + w] = out[y:y + h, x:x + w] * (1 - weight) + crop * weight
    return out.astype(np.uint8)


def fall_frames(*, falls: bool = True) -> Iterator[np.ndarray]:
    """``UPRIGHT`` frames of a real person standing, then ``DOWN`` frames slumped (or still standing)."""
    mat = material()
    plate = mat["plate"]
    frame = mat["woman-stays-on-lawn:frames"][_WOMAN_FRAME]
    x, y, w, h = _WOMAN_BOX
    crop, alpha = frame[y:y + h, x:x + w], _foreground(frame, plate)[y:y + h, x:x + w]
    standing = _paste(plate, _rotated(crop, 0, 1.5), _rotated(alpha, 0, 1.5), FALL_FOOT)
    slumped = _paste(plate, _rotated(crop, 60, 1.5), _rotated(alpha, 60, 1.5), FALL_FOOT)
    rng = np.random.default_rng(5)
    for index in range(UPRIGHT + DOWN):
        base = slumped if falls and index >= UPRIGHT else standing
        grain = rng.normal(0, 2.0, base.shape).astype(np.float32)  # a new exposure each frame
        yield np.clip(base + grain, 0, 255).astype(np.uint8)


NIGHT_CAMERA = Camera(camera_id="CAM-901", night_level=0.35, noise_gain=1.2, jpeg_quality=70, shake_px=1.0,
                      rain=((0.0, 3 * 3600.0),))
NIGHT_START_S = 3600.0  # 01:00 local
COUPLE = "couple-onto-lawn"


def night_frames(*, clip: bool) -> Iterator[tuple[float, np.ndarray]]:
    """(local second, frame) at the camera's 2 fps: the couple clip at 01:00 in the rain, or the quiet night."""
    fleet = Fleet(seed=901, cameras=[NIGHT_CAMERA], placements=[], hours=24)
    placement = Placement(NIGHT_CAMERA.camera_id, COUPLE, NIGHT_START_S, ("lawn",)) if clip else None
    for k in range(int(12 * FPS)):  # 12 s: the 6.6 s clip and the empty lawn after it
        t_s = NIGHT_START_S - 2 + k / FPS
        yield t_s, render(fleet, NIGHT_CAMERA, t_s, placement)


def couple_labelled_seconds() -> tuple[float, float]:
    """The hand-labelled frames 505–520 of the couple clip (it starts at vtest frame 495), as local seconds."""
    return NIGHT_START_S + (505 - 495) / 10, NIGHT_START_S + (520 - 495) / 10
