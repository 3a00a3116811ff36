"""The IoU / centroid tracker: ids stay with people across frames and survive being stored."""

from __future__ import annotations

import json

import pytest

from chalicelib.services.selective_monitor.tracker import Tracker, iou, normalise
from chalicelib.video.detect import Detection


def box(cx: float, foot: float, h: float = 0.2, w: float = 0.07):
    return (cx - w / 2, foot - h, cx + w / 2, foot)


def test_iou_of_identical_disjoint_and_half_overlapping_boxes():
    assert iou((0, 0, 1, 1), (0, 0, 1, 1)) == pytest.approx(1.0)
    assert iou((0, 0, 1, 1), (2, 2, 3, 3)) == 0.0
    assert iou((0, 0, 2, 1), (1, 0, 3, 1)) == pytest.approx(1 / 3)


def test_two_people_crossing_paths_keep_their_ids():
    # GIVEN two people walking towards each other along a line, 0.03 apart per frame each
    tracker = Tracker()
    for k in range(8):
        tracker.update(k * 500, [(box(0.2 + 0.03 * k, 0.6), 0.9, "person"), (box(0.8 - 0.03 * k, 0.62), 0.9, "person")])
    # THEN after 8 frames there are still exactly two tracks, each where its own person is
    ids = {t.track_id: (t.box[0] + t.box[2]) / 2 for t in tracker.tracks}
    assert ids == {1: pytest.approx(0.41), 2: pytest.approx(0.59)}


def test_a_far_detection_is_a_new_person_and_an_unseen_one_is_forgotten():
    tracker = Tracker(max_gap_ms=2000)
    tracker.update(0, [(box(0.2, 0.6), 0.9, "person")])
    tracker.update(500, [(box(0.8, 0.6), 0.9, "person")])
    assert [t.track_id for t in tracker.tracks] == [1, 2]
    tracker.update(1000, [(box(0.8, 0.6), 0.9, "person")])
    tracker.update(2600, [(box(0.8, 0.6), 0.9, "person")])  # person 1 unseen for 2.6 s, person 2 for 1.6 s
    assert [t.track_id for t in tracker.tracks] == [2]
    assert [t.track_id for t in tracker.visible(2600, min_hits=3)] == [2]


def test_labels_never_mix():
    tracker = Tracker()
    tracker.update(0, [(box(0.5, 0.6), 0.9, "person")])
    tracker.update(500, [(box(0.5, 0.6), 0.9, "car")])
    assert [(t.track_id, t.label) for t in tracker.tracks] == [(1, "person"), (2, "car")]


def test_state_round_trips_through_json():
    tracker = Tracker()
    tracker.update(0, [(box(0.3, 0.6), 0.9, "person")])
    tracker.tracks[0].marks["zone"] = 0
    tracker.tracks[0].fired.append("zone")
    again = Tracker.from_dict(json.loads(json.dumps(tracker.to_dict())))
    assert again == tracker
    again.update(500, [(box(0.31, 0.6), 0.9, "person")])
    assert again.tracks[0].track_id == 1
    assert again.tracks[0].hits == 2


def test_normalise_clamps_to_the_frame():
    det = Detection(x1=-10, y1=50, x2=400, y2=700, score=0.9, label="person")
    assert list(normalise(det, 800, 600)) == [0.0, pytest.approx(50 / 600), 0.5, 1.0]
