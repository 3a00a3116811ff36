"""Pure detector post-processing: grids, decode, NMS, thresholds, labels, scaling."""

from __future__ import annotations

import numpy as np
import pytest

from chalicelib.video.detect import build_detector
from chalicelib.video.detect.postprocess import (
    COCO_LABELS,
    boxes_to_detections,
    decode_yolox,
    letterbox_scale,
    nms,
    select,
    yolox_grids,
)


def test_grids_cover_every_anchor_of_the_three_strides_in_order():
    # GIVEN the 416-pixel YOLOX input
    grids, strides = yolox_grids(416)
    # THEN there are 52² + 26² + 13² = 3549 anchors, stride 8 first, and the grid walks x fastest
    assert grids.shape == (3549, 2) and strides.shape == (3549, 1)
    assert strides[0, 0] == 8 and strides[52 * 52, 0] == 16 and strides[-1, 0] == 32
    assert grids[1].tolist() == [1, 0] and grids[52].tolist() == [0, 1]


def test_decode_turns_offsets_into_corner_boxes():
    # GIVEN one anchor at grid (2, 3), stride 8, offsets (0.5, 0.5) and log-size 0 (→ 8 px)
    grids = np.array([[2, 3]], np.float32)
    strides = np.array([[8]], np.float32)
    raw = np.array([[0.5, 0.5, 0.0, 0.0, 0.9, 0.8, 0.1]], np.float32)
    # WHEN decoded
    out = decode_yolox(raw, grids, strides)
    # THEN the centre is (2.5·8, 3.5·8) = (20, 28) and the box is 8 px wide
    assert out[0, :4].tolist() == pytest.approx([16, 24, 24, 32])
    assert out[0, 4:].tolist() == pytest.approx([0.9, 0.8, 0.1])


def test_nms_keeps_the_best_of_overlapping_boxes_and_separate_ones():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60]], np.float32)
    scores = np.array([0.6, 0.9, 0.5], np.float32)
    assert nms(boxes, scores, 0.5) == [1, 2]
    assert nms(boxes[:0], scores[:0], 0.5) == []


def test_select_scores_objectness_times_class_thresholds_per_label_and_scales_back():
    # GIVEN two anchors: a person (0.9 × 0.9) and a weak car (0.5 × 0.5), in a letterbox scaled by 0.5
    decoded = np.zeros((2, 85), np.float32)
    decoded[0, :5] = [10, 20, 30, 60, 0.9]
    decoded[0, 5 + 0] = 0.9
    decoded[1, :5] = [100, 100, 140, 120, 0.5]
    decoded[1, 5 + 2] = 0.5
    # WHEN selected with person ≥ 0.5 and car ≥ 0.3, in a 50×100 frame
    dets = select(decoded, labels=COCO_LABELS, thresholds={"person": 0.5, "car": 0.3}, scale=0.5, width=50, height=100)
    # THEN the person is kept in frame coordinates, the car (0.25 < 0.3) is dropped
    assert [(d.label, round(d.score, 2)) for d in dets] == [("person", 0.81)]
    assert (dets[0].x1, dets[0].y1, dets[0].x2, dets[0].y2) == (20, 40, 50, 100)  # x2 60 clipped to the width


def test_letterbox_scale_fits_the_longer_side():
    assert letterbox_scale(768, 576, 416) == pytest.approx(416 / 768)
    with pytest.raises(ValueError, match="positive"):
        letterbox_scale(0, 10, 416)


def test_plain_boxes_become_thresholded_detections():
    dets = boxes_to_detections([[10, 10, 20, 40], [11, 11, 20, 40], [100, 0, 5, 5]], [0.9, 0.8, 0.1], "person",
                               threshold=0.3, scale=0.5)
    assert len(dets) == 1 and (dets[0].x1, dets[0].y2) == (20, 100)


def test_unknown_detector_type_names_the_known_ones():
    with pytest.raises(ValueError, match="hog"):
        build_detector("no-such-detector")


def test_hog_fallback_needs_no_model_and_finds_nobody_in_a_blank_frame():
    detector = build_detector("hog")
    assert detector.name == "hog" and detector.detect([np.full((240, 320, 3), 128, np.uint8)]) == [[]]
