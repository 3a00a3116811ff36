"""Colour names, the motion gate, the re-id tensor and the histogram descriptor (pure, no models)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from chalicelib.video import colors
from chalicelib.video.embed import HistogramEmbedder, l2_normalise, reid_tensor
from chalicelib.video.motion import MotionGate


def _solid(bgr: tuple[int, int, int], size: tuple[int, int] = (40, 20)) -> np.ndarray:
    return np.full((*size, 3), bgr, np.uint8)


@pytest.mark.parametrize(("bgr", "name"), [
    ((0, 0, 220), "red"), ((0, 140, 255), "orange"), ((0, 230, 230), "yellow"), ((0, 180, 0), "green"),
    ((200, 60, 0), "blue"), ((160, 0, 120), "purple"), ((180, 150, 255), "pink"), ((20, 60, 110), "brown"),
    ((15, 15, 15), "black"), ((240, 240, 240), "white"), ((128, 128, 128), "gray"),
])
def test_each_named_colour_is_recognised(bgr, name):
    shares = colors.color_shares(_solid(bgr))
    assert colors.dominant(shares) == name and shares[name] == pytest.approx(1.0)


def test_upper_and_lower_body_are_told_apart():
    # GIVEN a person crop with a red top half and a blue bottom half
    person = np.vstack([_solid((0, 0, 220), (50, 20)), _solid((200, 60, 0), (50, 20))])
    upper, lower = colors.describe(person)
    # THEN the regions have those colours, and matching follows them
    assert colors.dominant(upper) == "red" and colors.dominant(lower) == "blue"
    assert colors.match(upper, "red") == 1.0 and colors.match(upper, "blue") == 0.0
    assert 0 < colors.match(upper, "orange") < 1  # a neighbour counts half


def test_a_few_stray_pixels_of_a_colour_are_not_a_match():
    shares = {**dict.fromkeys(colors.COLOR_NAMES, 0.0), "black": 0.9, "red": 0.1}
    assert colors.match(shares, "red") < 0.35
    with pytest.raises(ValueError, match="unknown colour"):
        colors.match(shares, "teal")


def test_motion_gate_skips_still_frames_and_passes_changes():
    gate = MotionGate()
    still = _solid((90, 90, 90), (240, 320))
    moved = still.copy()
    cv2.rectangle(moved, (100, 80), (140, 180), (10, 10, 10), -1)
    assert gate.moving(still)  # the first frame always counts
    assert not gate.moving(still.copy())
    assert gate.moving(moved)
    assert not gate.moving(moved.copy())


def test_reid_tensor_is_rgb_imagenet_normalised_256x128():
    # GIVEN two crops of different sizes, one pure blue in BGR
    crops = [_solid((255, 0, 0), (90, 30)), _solid((0, 0, 0), (300, 100))]
    tensor = reid_tensor(crops)
    # THEN both are 3×256×128 and the blue lands in channel 2 (RGB order), normalised
    assert tensor.shape == (2, 3, 256, 128) and tensor.dtype == np.float32
    assert tensor[0, 2, 0, 0] == pytest.approx((1 - 0.406) / 0.225, rel=1e-5)
    assert tensor[1, 0, 0, 0] == pytest.approx(-0.485 / 0.229, rel=1e-5)


def test_histogram_descriptor_is_normalised_and_separates_clothing():
    embedder = HistogramEmbedder()
    red_blue = np.vstack([_solid((0, 0, 220), (64, 32)), _solid((200, 60, 0), (64, 32))])
    red_blue_2 = red_blue.copy()
    red_blue_2[::7] = 100  # some noise
    green_black = np.vstack([_solid((0, 180, 0), (64, 32)), _solid((15, 15, 15), (64, 32))])
    e = embedder.embed([red_blue, red_blue_2, green_black])
    assert e.shape == (3, embedder.dim)
    assert np.linalg.norm(e, axis=1) == pytest.approx([1, 1, 1])
    assert e[0] @ e[1] > 0.8 > e[0] @ e[2]


def test_l2_normalise_survives_zero_vectors():
    out = l2_normalise(np.array([[3, 4], [0, 0]], np.float32))
    assert out[0].tolist() == pytest.approx([0.6, 0.8]) and out[1].tolist() == [0, 0]


def test_matching_many_regions_at_once_equals_matching_each():
    rng = np.random.default_rng(3)
    shares = rng.dirichlet(np.ones(len(colors.COLOR_NAMES)) * 0.3, size=50)
    for wanted in ("red", "black", "blue"):
        one_by_one = [colors.match(dict(zip(colors.COLOR_NAMES, row, strict=True)), wanted) for row in shares]
        assert colors.match_many(shares, wanted) == pytest.approx(one_by_one, abs=1e-6)
