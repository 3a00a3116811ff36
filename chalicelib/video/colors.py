"""Named clothing colours of a person crop: upper and lower body, classified in HSV.

Each pixel of a body region gets one of eleven names by hue, saturation and value; the region's
colours are the shares of those names. A query colour matches a region by the share of its name
(with near-neighbours, e.g. orange/red, counting half).
"""

from __future__ import annotations

from collections.abc import Mapping

import cv2
import numpy as np
from numpy.typing import NDArray

from chalicelib.video.detect import Frame

FULL_MATCH_SHARE = 0.35  # a colour covering this much of a region is a full match
COLOR_NAMES = ("red", "orange", "yellow", "green", "blue", "purple", "pink", "brown", "black", "white", "gray")
_NEIGHBOURS: Mapping[str, tuple[str, ...]] = {
    "red": ("orange", "pink", "brown"), "orange": ("red", "yellow", "brown"), "yellow": ("orange",),
    "green": (), "blue": ("purple",), "purple": ("blue", "pink"), "pink": ("red", "purple"),
    "brown": ("orange", "red", "black"), "black": ("gray", "brown"), "white": ("gray",),
    "gray": ("black", "white"),
}


def classify_pixels(hsv: NDArray[np.uint8]) -> NDArray[np.int64]:
    """H×W×3 OpenCV HSV (H 0–179) → H×W indices into :data:`COLOR_NAMES`."""
    h = hsv[..., 0].astype(np.int32) * 2  # degrees 0..358
    s = hsv[..., 1].astype(np.int32)
    v = hsv[..., 2].astype(np.int32)
    out = np.full(h.shape, COLOR_NAMES.index("gray"), dtype=np.int64)
    # Denim and other dull blues stay blue at lower saturation than other hues: faded jeans sit at S 35-60.
    chromatic = ((s >= 60) | ((s >= 35) & (h >= 190) & (h < 250))) & (v >= 50)
    hue_bins = ((0, 15, "red"), (15, 40, "orange"), (40, 70, "yellow"), (70, 170, "green"), (170, 260, "blue"),
                (260, 295, "purple"), (295, 340, "pink"), (340, 361, "red"))
    for lo, hi, name in hue_bins:
        out[chromatic & (h >= lo) & (h < hi)] = COLOR_NAMES.index(name)
    dark_warm = chromatic & (v < 150) & (h >= 10) & (h < 45) & (s >= 60)
    out[dark_warm] = COLOR_NAMES.index("brown")
    pinkish = chromatic & (s < 120) & (v >= 150) & ((h < 15) | (h >= 340))
    out[pinkish] = COLOR_NAMES.index("pink")
    out[v < 50] = COLOR_NAMES.index("black")
    # Navy: dark but strongly saturated blue (a black garment's shadows are dark with noisy, weak hue).
    out[(v >= 25) & (v < 50) & (s >= 150) & (h >= 210) & (h < 260)] = COLOR_NAMES.index("blue")
    low_sat = (s < 60) & (v >= 50)
    out[low_sat & (v >= 190)] = COLOR_NAMES.index("white")
    out[low_sat & (v < 190) & (v >= 50)] = COLOR_NAMES.index("gray")
    out[low_sat & (v < 80)] = COLOR_NAMES.index("black")
    return out


def color_shares(region: Frame) -> dict[str, float]:
    """Share of each colour name in a BGR region (shares sum to 1; empty region → all zero)."""
    if region.size == 0:
        return dict.fromkeys(COLOR_NAMES, 0.0)
    hsv: NDArray[np.uint8] = np.asarray(cv2.cvtColor(region, cv2.COLOR_BGR2HSV), dtype=np.uint8)
    counts = np.bincount(classify_pixels(hsv).reshape(-1), minlength=len(COLOR_NAMES)).astype(np.float64)
    counts /= counts.sum()
    return {name: float(counts[i]) for i, name in enumerate(COLOR_NAMES)}


def body_regions(crop: Frame) -> tuple[Frame, Frame]:
    """Upper body (torso: 18–50 % of the height) and lower body (55–90 %), trimmed at the sides."""
    h, w = crop.shape[:2]
    x1, x2 = int(w * 0.2), max(int(w * 0.8), int(w * 0.2) + 1)
    upper = crop[int(h * 0.18):max(int(h * 0.5), int(h * 0.18) + 1), x1:x2]
    lower = crop[int(h * 0.55):max(int(h * 0.9), int(h * 0.55) + 1), x1:x2]
    return upper, lower


def dominant(shares: Mapping[str, float]) -> str:
    return max(shares, key=lambda name: shares[name])


def match(shares: Mapping[str, float], wanted: str) -> float:
    """How well a region's colours match a wanted name: its share plus half its neighbours' shares,
    relative to the region's dominant share but never to less than :data:`FULL_MATCH_SHARE` (so a
    clearly dominant wanted colour scores 1, and a few stray pixels of it score little)."""
    if wanted not in _NEIGHBOURS:
        raise ValueError(f"unknown colour {wanted!r}; known: {', '.join(COLOR_NAMES)}")
    top = max(shares.values(), default=0.0)
    if top <= 0:
        return 0.0
    top = max(top, FULL_MATCH_SHARE)
    value = shares.get(wanted, 0.0) + 0.5 * sum(shares.get(n, 0.0) for n in _NEIGHBOURS[wanted])
    return float(min(1.0, value / top))


def match_many(shares: NDArray[np.floating], wanted: str) -> NDArray[np.float32]:
    """:func:`match` for N regions at once (N×11 shares in :data:`COLOR_NAMES` order)."""
    if wanted not in _NEIGHBOURS:
        raise ValueError(f"unknown colour {wanted!r}; known: {', '.join(COLOR_NAMES)}")
    s = np.asarray(shares, dtype=np.float32).reshape(-1, len(COLOR_NAMES))
    value = s[:, COLOR_NAMES.index(wanted)].copy()
    for neighbour in _NEIGHBOURS[wanted]:
        value += 0.5 * s[:, COLOR_NAMES.index(neighbour)]
    top = s.max(axis=1) if len(s) else np.zeros(0, np.float32)
    out = np.where(top > 0, np.minimum(1.0, value / np.maximum(top, FULL_MATCH_SHARE)), 0.0)
    return out.astype(np.float32)


def describe(crop: Frame) -> tuple[dict[str, float], dict[str, float]]:
    """Colour shares of the upper and lower body of a person crop."""
    upper, lower = body_regions(crop)
    return color_shares(upper), color_shares(lower)
