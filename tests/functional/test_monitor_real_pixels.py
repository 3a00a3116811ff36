"""Each rule on real pixels, through the monitor's whole frame path (scene baseline, detector when woken,
tracker, rules): zone, loitering and crowding on vtest.avi against its hand labels; falls and night
presence on the labelled proxies of tests/monitor_proxies.py (proxies: no real fall or night
footage exists here)."""

from __future__ import annotations

from functools import cache

import pytest
from monitor_proxies import DOWN, UPRIGHT, couple_labelled_seconds, fall_frames, night_frames
from monitor_support import (
    MISSING_FOOTAGE,
    VTEST,
    VTEST_FPS,
    YOLOX,
    labelled_rules,
    score_against_labels,
    vtest_frames,
    zone,
)

from chalicelib.models.selective_monitor import CameraRules
from chalicelib.services.selective_monitor.rules import CameraState, Firing, detect_awake, observe
from chalicelib.services.selective_monitor.tracker import normalise
from chalicelib.video.detect import Detector, Frame, build_detector

pytestmark = [pytest.mark.shared,
              pytest.mark.skipif(not (VTEST.is_file() and YOLOX.is_file()), reason=MISSING_FOOTAGE)]
T0 = 1_763_800_000_000
KST_MIDNIGHT = T0 - T0 % 86_400_000 - 9 * 3_600_000


@cache
def detector() -> Detector:
    return build_detector("yolox", YOLOX, threads=2)


def run(config: CameraRules, frames: list[tuple[int, Frame]]) -> tuple[list[Firing], CameraState]:
    """The monitor's frame path, one frame at a time."""
    state = CameraState()
    firings = []
    for t_ms, frame in frames:
        found = detect_awake(detector(), state, [frame])[0]
        boxes = [(normalise(d, frame.shape[1], frame.shape[0]), float(d.score), d.label) for d in found]
        firings += observe(config, state, t_ms, boxes)
    return firings, state


def test_zone_and_loitering_rules_hold_through_the_scene_baseline():
    # GIVEN vtest.avi at 2 fps through the baseline that decides which frames reach the detector
    frames = [(T0 + index * 100, frame) for index, frame in vtest_frames(5)]
    firings, state = run(CameraRules.model_validate(labelled_rules(review_s=10)), frames)
    fired: dict[str, list[int]] = {}
    for firing in firings:
        fired.setdefault(firing.rule.rule_id, []).append((firing.t_ms - T0) // 100)
    # THEN the hand-labelled events still reach the operator, and nothing fires where nobody is
    scores = score_against_labels(fired, review_frames=10 * VTEST_FPS)
    assert sum(s["surfaced"] for s in scores.values()) / sum(s["labelled"] for s in scores.values()) >= 0.9, scores
    assert all(s["false_alarms"] == [] for s in scores.values()), scores
    assert "fall" not in fired
    # AND the walkway is busy all the time, so the detector was woken for nearly every frame
    assert state.scene.woken >= 0.9 * len(frames)


def test_crowding_fires_on_the_busy_walkway_through_the_scene_baseline():
    config = CameraRules.model_validate({"rules": [{"kind": "crowding", "rule_id": "busy", "threshold": 6,
                                                    "hold_s": 2, "cooldown_s": 60}]})
    frames = [(T0 + index * 100, frame) for index, frame in vtest_frames(5, stop=400)]
    firings, _ = run(config, frames)
    # vtest shows 4–9 people: six or more at once happens, and the cooldown keeps it to a few events
    assert 1 <= len(firings) <= 1 + 40 // 60 + 1
    assert all(len(f.tracks) >= 6 for f in firings)


def fall_config() -> CameraRules:
    return CameraRules.model_validate({"rules": [{"kind": "person_down", "rule_id": "fall", "hold_s": 2}]})


def test_a_person_who_slumps_over_raises_a_fall_on_the_proxy():
    # GIVEN a real person standing on the lawn, then slumped over (proxy: see tests/monitor_proxies.py)
    frames = [(T0 + k * 500, frame) for k, frame in enumerate(fall_frames())]
    firings, _ = run(fall_config(), frames)
    # THEN one fall, held for 2 s after going down (labelled down from frame UPRIGHT on)
    assert [f.rule.rule_id for f in firings] == ["fall"]
    down_at = (firings[0].t_ms - T0) // 500
    assert UPRIGHT + 2 <= down_at < UPRIGHT + DOWN
    assert firings[0].tracks[0].aspect <= 0.9


def test_the_same_person_standing_raises_no_fall():
    frames = [(T0 + k * 500, frame) for k, frame in enumerate(fall_frames(falls=False))]
    assert run(fall_config(), frames)[0] == []


def night_config(hours: tuple[str, str] = ("23:00", "05:00")) -> CameraRules:
    return CameraRules.model_validate({"rules": [
        {"kind": "night_presence", "rule_id": "night-lawn", "zone": zone("lawn"),
         "hours": {"start": hours[0], "end": hours[1]}, "cooldown_s": 30}]})


def night(clip: bool) -> list[tuple[int, Frame]]:
    return [(KST_MIDNIGHT + round(t_s * 1000), frame) for t_s, frame in night_frames(clip=clip)]


def test_night_presence_fires_for_the_couple_on_the_dark_rainy_lawn():
    # GIVEN the hand-labelled couple walking onto the lawn, rendered as an IR camera at 01:00 in the rain (proxy)
    firings, state = run(night_config(), night(clip=True))
    # THEN one night-presence event, inside the labelled frames (+ the 1 s two sightings take)
    lo, hi = couple_labelled_seconds()
    assert [f.rule.rule_id for f in firings] == ["night-lawn"]
    assert KST_MIDNIGHT + lo * 1000 <= firings[0].t_ms <= KST_MIDNIGHT + (hi + 1) * 1000
    assert state.scene.dark


def test_the_quiet_rainy_night_stays_quiet_and_mostly_spares_the_detector():
    firings, state = run(night_config(), night(clip=False))
    assert firings == []
    assert state.scene.woken <= 8 + 2  # the baseline's warm-up frames, then rain and grain alone wake nothing


def test_the_same_couple_by_day_hours_is_no_night_presence():
    firings, _ = run(night_config(("02:00", "04:00")), night(clip=True))
    assert firings == []
