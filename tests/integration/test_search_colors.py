"""Clothing colours against people's own labels: hand-labelled person crops of vtest.avi."""

from __future__ import annotations

import pytest
from search_support import COLOR_LABELS, VIDEO, color_accuracy, labelled_crops

from chalicelib.video import colors

pytestmark = [pytest.mark.shared, pytest.mark.skipif(not VIDEO.exists(), reason="needs ../shared/data/video/vtest.avi")]


def test_at_least_forty_crops_are_labelled_with_frame_and_box():
    crops = labelled_crops()
    assert len(crops) >= 40, COLOR_LABELS
    assert all(pixels.shape[0] >= 80 and pixels.shape[1] >= 20 for _, pixels in crops)


def test_dominant_colours_agree_with_the_hand_labels():
    assert color_accuracy() >= 0.8


def test_a_red_top_query_ranks_every_red_labelled_person_above_every_one_without_red():
    # GIVEN the crops a person calls red on top, and those where no one would name red for the top
    red, not_red = [], []
    for label, pixels in labelled_crops():
        upper, _ = colors.describe(pixels)
        score = colors.match(upper, "red")
        if label.upper_first == "red":
            red.append((score, label.frame))
        elif "red" not in label.upper:
            not_red.append((score, label.frame, sorted(label.upper)))
    assert len(red) >= 5 and len(not_red) >= 30
    # THEN the weakest red one still outranks the strongest black/brown/blue one
    assert min(red) > max(not_red), (min(red), max(not_red))
