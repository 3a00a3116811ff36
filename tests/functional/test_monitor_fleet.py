"""The benchmark fleet generator (tests/monitor_fleet.py) on a tiny fleet: deterministic from its seed,
its ground truth consistent with its pixels, and its day scored the way its docstring says."""

from __future__ import annotations

import hashlib
import itertools

import cv2
import numpy as np
import pytest
from monitor_fleet import (
    BURST,
    FPS,
    LEAD_S,
    TAIL_S,
    Fleet,
    Placement,
    _foreground,
    _library,
    build_fleet,
    material,
    render_jpeg,
    rules_config,
    schedule,
    score_day,
)
from monitor_support import MISSING_FOOTAGE, VTEST, YOLOX, labels, zone

from chalicelib.models.selective_monitor import CameraRules

footage = pytest.mark.skipif(not (VTEST.is_file() and YOLOX.is_file()), reason=MISSING_FOOTAGE)


def test_the_fleet_is_a_function_of_its_seed():
    # GIVEN two builds from one seed and one from another
    a, b, c = build_fleet(7, 3, 12), build_fleet(7, 3, 12), build_fleet(8, 3, 12)
    # THEN the same seed gives the same day, another seed another day
    assert a.describe() == b.describe() and a.digest() == b.digest()
    assert a.digest() != c.digest()
    assert [p.camera for p in a.placements] and {p.camera for p in a.placements} <= {x.camera_id for x in a.cameras}


def test_placements_fit_the_day_never_overlap_and_name_the_rules_the_labels_give():
    fleet = build_fleet(21, cameras=4, hours=24)
    library = _library()
    config = CameraRules.model_validate(rules_config())
    rule_ids = {r.rule_id for r in config.rules}
    hand = labels()["rules"]
    for camera in fleet.cameras:
        windows = sorted(p.window(library[p.clip]) for p in fleet.placements if p.camera == camera.camera_id)
        assert all(lo >= 0 and hi <= fleet.hours * 3600 for lo, hi in windows)
        assert all(w1[1] <= w2[0] for w1, w2 in itertools.pairwise(windows))  # never overlapping
    for placement in fleet.placements:
        clip = library[placement.clip]
        assert placement.rules == clip.rules and set(placement.rules) <= rule_ids
        if clip.labelled is not None:  # the frames of a positive are a hand-labelled event of its rule(s)
            lo, hi = clip.labelled
            assert any(e["frames"] == [lo, hi] for rule in clip.rules for e in hand[rule]["events"])
            assert clip.first <= lo <= hi <= clip.last + 10
        if clip.night_only:
            assert fleet.cameras[int(placement.camera[4:]) - 1].light(placement.start_s) < 0.5
    # 0–3 clips a camera-hour
    per_hour: dict[tuple[str, int], int] = {}
    for p in fleet.placements:
        per_hour[(p.camera, int(p.start_s // 3600))] = per_hour.get((p.camera, int(p.start_s // 3600)), 0) + 1
    assert max(per_hour.values()) <= 3


def test_the_schedule_covers_each_window_at_the_camera_rate_and_quiet_bursts():
    fleet = build_fleet(21, cameras=2, hours=3)
    camera = fleet.cameras[0]
    frames = schedule(fleet, camera)
    times = [t for t, _ in frames]
    assert times == sorted(times) and len(set(times)) == len(times)
    for placement in (p for p in fleet.placements if p.camera == camera.camera_id):
        clip = _library()[placement.clip]
        mine = [t for t, p in frames if p is placement]
        assert len(mine) == int((clip.seconds + LEAD_S + TAIL_S) * FPS)
    quiet = [t for t, p in frames if p is None]
    assert len(quiet) <= 3 * 3600 // 900 * BURST and quiet


@footage
def test_rendering_is_deterministic_and_truth_matches_the_pixels():
    fleet = build_fleet(21, cameras=2, hours=24)
    camera = fleet.cameras[0]
    placement = next(p for p in fleet.placements if p.camera == camera.camera_id)
    # GIVEN the same frame rendered twice: byte for byte the same
    assert render_jpeg(fleet, camera, placement.start_s + 1, placement) == \
        render_jpeg(fleet, camera, placement.start_s + 1, placement)
    # THEN every positive clip shows someone inside its rule's zone during its labelled frames, and the
    # walkway negatives never put anyone inside a zone
    mat = material()
    plate = mat["plate"]
    zones = {name: _zone_mask(zone(name)) for name in ("lawn", "left-walkway")}
    zone_of = {r: labels()["rules"][r]["config"]["zone"] for r in labels()["rules"]}
    for clip in _library().values():
        if clip.synthetic:
            continue
        composites = mat[f"{clip.name}:frames"]
        people = [_foreground(f, plate) > 128 for f in composites]
        if clip.labelled is not None:
            lo, hi = clip.labelled
            ks = range((lo - clip.first) // 5, min(len(people), (hi - clip.first) // 5 + 1))
            for rule in clip.rules:
                assert any((people[k] & zones[zone_of[rule]]).sum() > 200 for k in ks), (clip.name, rule)
            for name in clip.exclude:  # nobody in the zones of rules the clip must not raise (past the feathering)
                inner = cv2.erode(zones[name].astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
                assert all(not (p & inner).any() for p in people), (clip.name, name)
        else:
            assert all(not (p & (zones["lawn"] | zones["left-walkway"])).any() for p in people), clip.name
    digest = hashlib.sha256(np.ascontiguousarray(plate).tobytes()).hexdigest()
    assert digest == hashlib.sha256(np.ascontiguousarray(material()["plate"]).tobytes()).hexdigest()


def _zone_mask(polygon: list[tuple[float, float]]) -> np.ndarray:
    mask = np.zeros((576, 768), dtype=np.uint8)
    cv2.fillPoly(mask, [np.array([(x * 768, y * 576) for x, y in polygon], dtype=np.int32)], 1)
    return mask.astype(bool)


def test_the_day_score_counts_recall_per_labelled_rule_and_scales_quiet_false_alarms():
    fleet = build_fleet(21, cameras=2, hours=24)
    library = _library()
    positives = [p for p in fleet.placements if p.rules]
    # GIVEN one event per expected (clip, rule), at the clip's start
    perfect = [(p.camera, p.start_s + 1, rule) for p in positives for rule in p.rules]
    score = score_day(fleet, perfect)
    assert score.recall == 1.0 and score.false_alarms == 0 and score.true_events == len(perfect)
    # WHEN one positive is missed, a wrong rule fires in a window and one event fires in a quiet stretch
    missed = positives[0]
    quiet_t = next(t for t, p in schedule(fleet, fleet.cameras[0]) if p is None)
    events = [e for e in perfect if not (e[0] == missed.camera and e[1] == missed.start_s + 1)]
    events += [(missed.camera, missed.window(library[missed.clip])[0] + 0.5, "fall"),
               (fleet.cameras[0].camera_id, quiet_t, "lawn")]
    score = score_day(fleet, events)
    # THEN recall drops by the missed pairs and the quiet false alarm counts for the quiet time it stands for
    assert score.recalled == score.expected - len(missed.rules)
    assert score.false_in_windows == 1 and score.false_in_quiet == 1
    assert score.quiet_scale > 100
    assert score.false_alarms == pytest.approx((1 + score.quiet_scale) / 48)


def test_an_empty_fleet_scores_nothing():
    fleet = Fleet(seed=1, cameras=build_fleet(1, 1, 1).cameras, placements=[], hours=1)
    score = score_day(fleet, [])
    assert score.expected == 0 and score.recall == 1.0 and score.false_alarms == 0
    assert Placement("CAM-001", "couple-onto-lawn", 100.0, ("lawn",)).window(_library()["couple-onto-lawn"])[0] == 98.0
