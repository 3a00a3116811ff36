"""Pure rule evaluation over hand-made detection sequences: the rules are under test, detections are inputs."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.models.selective_monitor import CameraRules
from chalicelib.services.selective_monitor.rules import CameraState, inside, local_minute, observe

SQUARE = [(0.5, 0.5), (1.0, 0.5), (1.0, 1.0), (0.5, 1.0)]
T0 = 1_763_800_000_000  # 2025-11-22 08:26:40 UTC = 17:26 in Seoul


def person(cx: float, foot: float, *, h: float = 0.2, w: float = 0.07, score: float = 0.8, label: str = "person"):
    return ((cx - w / 2, foot - h, cx + w / 2, foot), score, label)


def lying(cx: float, foot: float, score: float = 0.8):
    return ((cx - 0.1, foot - 0.07, cx + 0.1, foot), score, "person")


def config(*rules: dict[str, Any], **extra: Any) -> CameraRules:
    return CameraRules.model_validate({"rules": list(rules), **extra})


def run(cfg: CameraRules, frames, state: CameraState | None = None, step_ms: int = 500, t0: int = T0):
    """frames: one detection list per frame, ``step_ms`` apart; returns (firings with frame index, state)."""
    state = state or CameraState()
    out = []
    for i, dets in enumerate(frames):
        for firing in observe(cfg, state, t0 + i * step_ms, dets):
            out.append((i, firing))
    return out, state


def walk(start: tuple[float, float], end: tuple[float, float], n: int):
    return [[person(start[0] + (end[0] - start[0]) * k / (n - 1), start[1] + (end[1] - start[1]) * k / (n - 1))]
            for k in range(n)]


ZONE = {"kind": "zone_intrusion", "rule_id": "yard", "zone": SQUARE, "cooldown_s": 5}


def test_point_in_polygon_uses_the_feet_coordinates():
    assert inside((0.75, 0.75), SQUARE)
    assert not inside((0.25, 0.75), SQUARE)
    assert not inside((0.75, 0.25), SQUARE)


def test_zone_intrusion_fires_once_when_a_person_walks_in_and_stays():
    # GIVEN a person walking from outside into the zone and standing there for 10 s
    frames = walk((0.2, 0.3), (0.7, 0.8), 8) + [[person(0.7, 0.8)]] * 20
    # WHEN the rule sees the frames
    firings, state = run(config(ZONE), frames)
    # THEN exactly one event, at the first frame the confirmed person's feet are inside, with their box
    assert [(i, f.rule.rule_id) for i, f in firings] == [(5, "yard")]
    assert len(firings[0][1].tracks) == 1
    assert firings[0][1].tracks[0].foot[1] == pytest.approx(0.3 + 0.5 * 5 / 7)
    assert state.events == 1


def test_a_person_outside_the_zone_raises_nothing():
    firings, _ = run(config(ZONE), walk((0.1, 0.2), (0.45, 0.9), 20))
    assert firings == []


def test_a_single_frame_flicker_is_not_an_intrusion():
    # GIVEN one detection in the zone in one frame only (a false positive)
    frames = [[], [person(0.7, 0.8)], [], [], []]
    firings, _ = run(config(ZONE), frames)
    assert firings == []


def test_leaving_and_coming_back_fires_again_after_the_cooldown():
    # GIVEN a person who enters, walks out and stays out for 3 s, then walks back in
    frames = ([[person(0.7, 0.8)]] * 4 + walk((0.7, 0.8), (0.3, 0.3), 10) + [[person(0.3, 0.3)]] * 6
              + walk((0.3, 0.3), (0.7, 0.8), 10))
    firings, _ = run(config({**ZONE, "cooldown_s": 5}), frames, step_ms=500)
    # THEN two events for the same person, the second on re-entry (frame 25: the first frame back inside)
    assert [i for i, _ in firings] == [1, 25]
    assert {f.tracks[0].track_id for _, f in firings} == {1}


def test_the_cooldown_suppresses_a_second_person_entering_soon_after():
    # GIVEN two people entering 2 s apart, with a 30 s cooldown
    a, b = person(0.6, 0.8), person(0.9, 0.9)
    frames = [[a]] * 4 + [[a, b]] * 6
    firings, state = run(config({**ZONE, "cooldown_s": 30}), frames)
    # THEN one event; the second entry is counted as suppressed
    assert [i for i, _ in firings] == [1]
    assert state.suppressed == 1


def test_two_people_entering_together_are_one_event_with_both_boxes():
    frames = [[person(0.6, 0.8), person(0.8, 0.8)]] * 3
    firings, _ = run(config(ZONE), frames)
    assert len(firings) == 1
    assert sorted(t.track_id for t in firings[0][1].tracks) == [1, 2]
    assert firings[0][1].score == pytest.approx(0.8)


def test_low_confidence_and_other_labels_are_ignored():
    frames = [[person(0.7, 0.8, score=0.3), person(0.6, 0.7, label="car")]] * 5
    firings, _ = run(config(ZONE), frames)
    assert firings == []


def test_a_rule_outside_its_time_window_does_not_fire():
    # GIVEN a rule active 22:00-06:00 Seoul time, and a frame sequence at 17:26 Seoul time
    rule = {**ZONE, "windows": [{"start": "22:00", "end": "06:00"}]}
    frames = [[person(0.7, 0.8)]] * 4
    firings, _ = run(config(rule), frames)
    assert local_minute(T0, 540) == 17 * 60 + 26
    assert firings == []
    # WHEN the same happens at 23:26 Seoul time (+6 h)
    firings, _ = run(config(rule), frames, t0=T0 + 6 * 3_600_000)
    # THEN it fires
    assert len(firings) == 1


def test_loitering_fires_after_the_dwell_time_once_per_person():
    rule = {"kind": "loitering", "rule_id": "linger", "zone": SQUARE, "dwell_s": 10, "cooldown_s": 0}
    # GIVEN a person inside for 15 s at 2 fps, with two missed frames (occlusion) in the middle
    frames = [[person(0.7, 0.8)]] * 12 + [[], []] + [[person(0.7, 0.8)]] * 16
    firings, _ = run(config(rule), frames)
    # THEN one event once 10 s have passed since they were confirmed inside (frame 1: two sightings)
    assert [i for i, _ in firings] == [21]


def test_loitering_timer_restarts_when_the_person_really_left():
    rule = {"kind": "loitering", "rule_id": "linger", "zone": SQUARE, "dwell_s": 6, "cooldown_s": 0}
    # GIVEN a person inside 5.5 s (frames 1-12), walking out and back (outside frames 13-26), inside from frame 27
    frames = ([[person(0.7, 0.8)]] * 8 + walk((0.7, 0.8), (0.3, 0.3), 10) + [[person(0.3, 0.3)]] * 4
              + walk((0.3, 0.3), (0.7, 0.8), 10) + [[person(0.7, 0.8)]] * 12)
    firings, _ = run(config(rule), frames)
    # THEN the event comes 6 s after the second entry (frame 27 + 12): the first stay never counts
    assert [i for i, _ in firings] == [39]
    assert firings[0][1].tracks[0].track_id == 1


def test_person_down_needs_an_upright_person_who_falls_and_stays_down():
    rule = {"kind": "person_down", "rule_id": "fall", "hold_s": 2, "cooldown_s": 0}
    # GIVEN a standing person who falls (the box turns wide and low) and stays down 4 s
    frames = [[person(0.5, 0.7)]] * 4 + [[lying(0.5, 0.72)]] * 8
    firings, _ = run(config(rule), frames)
    # THEN one event 2 s after the fall
    assert [i for i, _ in firings] == [8]
    assert firings[0][1].severity == 5


def test_person_down_ignores_wide_boxes_never_seen_upright_or_cut_by_the_frame_edge():
    rule = {"kind": "person_down", "rule_id": "fall", "hold_s": 1, "cooldown_s": 0}
    never_upright = [[lying(0.5, 0.7)]] * 10
    cut_by_edge = [[person(0.5, 1.0)]] * 3 + [[((0.4, 0.93, 0.6, 1.0), 0.8, "person")]] * 10
    assert run(config(rule), never_upright)[0] == []
    assert run(config(rule), cut_by_edge)[0] == []


def test_crowding_fires_once_per_episode_after_the_hold_time():
    rule = {"kind": "crowding", "rule_id": "crowd", "threshold": 4, "hold_s": 1, "cooldown_s": 0}
    crowd = [person(0.1 + 0.15 * k, 0.6) for k in range(5)]
    # GIVEN 3 s of 5 people, 2 s of 2 people, 3 s of 5 people again
    frames = [crowd] * 6 + [crowd[:2]] * 4 + [crowd] * 6
    firings, _ = run(config(rule), frames)
    # THEN one event per crowded episode, each after 1 s of crowding, with every counted box
    assert [i for i, _ in firings] == [2, 12]
    assert len(firings[0][1].tracks) == 5


def test_crowding_counts_only_inside_its_zone():
    rule = {"kind": "crowding", "rule_id": "crowd", "threshold": 3, "hold_s": 0, "zone": SQUARE}
    frames = [[person(0.1, 0.3), person(0.2, 0.3), person(0.3, 0.3), person(0.7, 0.8)]] * 4
    assert run(config(rule), frames)[0] == []


def test_night_presence_fires_only_in_night_hours():
    rule = {"kind": "night_presence", "rule_id": "night", "hours": {"start": "23:00", "end": "05:00"}}
    frames = [[person(0.5, 0.6)]] * 4
    assert run(config(rule), frames)[0] == []  # 17:26 in Seoul
    at_night, _ = run(config(rule), frames, t0=T0 + 7 * 3_600_000)  # 00:26 in Seoul
    assert [i for i, _ in at_night] == [1]


def test_disabled_rules_never_fire():
    frames = [[person(0.7, 0.8)]] * 4
    assert run(config({**ZONE, "enabled": False}), frames)[0] == []


def test_surfaced_share_counts_the_camera_time_inside_review_windows():
    # GIVEN 60 s of frames at 1 fps, one intrusion at t = 10 s, review window 10 s
    frames = [[] for _ in range(10)] + [[person(0.7, 0.8)]] * 2 + [[] for _ in range(48)]
    firings, state = run(config(ZONE, review_s=10), frames, step_ms=1000)
    # THEN 59 s observed, of which the 10 s after the event were surfaced
    assert [i for i, _ in firings] == [11]
    assert state.observed_ms == 59_000
    assert state.surfaced_ms == 10_000
    assert state.surfaced_share == pytest.approx(10 / 59)


def test_a_long_silence_is_not_counted_as_observed_camera_time():
    cfg = config(ZONE)
    _, state = run(cfg, [[], []], step_ms=1000)
    observe(cfg, state, T0 + 3_600_000, [])
    assert state.observed_ms == 1000


def test_state_stored_between_invocations_gives_the_same_events_as_one_run():
    # GIVEN a loitering + intrusion sequence, split across "invocations" with the state serialised in between
    cfg = config(ZONE, {"kind": "loitering", "rule_id": "linger", "zone": SQUARE, "dwell_s": 4, "cooldown_s": 0})
    frames = walk((0.2, 0.3), (0.7, 0.8), 6) + [[person(0.7, 0.8)]] * 12 + walk((0.7, 0.8), (0.3, 0.3), 6)
    whole, whole_state = run(cfg, frames)
    state = CameraState()
    split = []
    for part in range(0, len(frames), 5):
        state = CameraState.from_dict(json.loads(json.dumps(state.to_dict())))
        for i, dets in enumerate(frames[part:part + 5], start=part):
            split += [(i, f.rule.rule_id) for f in observe(cfg, state, T0 + i * 500, dets)]
    # THEN the same firings and the same accounting
    assert split == [(i, f.rule.rule_id) for i, f in whole]
    assert [r for _, r in split] == ["yard", "linger"]
    assert state.to_dict() == whole_state.to_dict()


def test_sparse_stills_keep_their_people_when_the_rate_is_configured():
    # GIVEN a camera uploading one still every 5 s, with someone standing in the zone
    rules = (ZONE, {"kind": "loitering", "rule_id": "linger", "zone": SQUARE, "dwell_s": 10, "cooldown_s": 0})
    frames = [[person(0.7, 0.8)]] * 4
    # WHEN its configuration says so (0.2 fps, a single sighting confirms)
    firings, state = run(config(*rules, sample_fps=0.2, confirm_frames=1), frames, step_ms=5000)
    # THEN the intrusion fires on the first still and the loitering 10 s later, for the same person
    assert [(i, f.rule.rule_id) for i, f in firings] == [(0, "yard"), (2, "linger")]
    assert [t.track_id for t in state.tracker.tracks] == [1]
    # AND with the clip defaults (2 fps, two sightings) the person would be forgotten between stills
    assert run(config(*rules), frames, step_ms=5000)[0] == []


def test_an_event_surfaces_its_episode_plus_the_review_time():
    # GIVEN a person who walks in (1 fps), stays 20 s in the zone and leaves the picture
    frames = [[]] * 5 + [[person(0.7, 0.8)]] * 21 + [[]] * 40
    firings, state = run(config(ZONE, review_s=10), frames, step_ms=1000)
    # THEN one event at the second sighting; surfaced from it to 10 s after they were last seen in the zone
    assert [i for i, _ in firings] == [6]
    assert state.surfaced_ms == (25 - 6) * 1000 + 10_000
    assert state.episodes == {}


def test_people_joining_an_open_episode_merge_into_its_event():
    # GIVEN one person in the zone, and a second walking in 6 s later (after the 5 s cooldown) while the first stays
    first = [person(0.7, 0.8)]
    frames = [first] * 12 + [[*first, person(0.6, 0.9, w=0.06)]] * 10
    firings, state = run(config(ZONE), frames)
    # THEN one event: the second person joined the open episode instead of raising another
    assert [i for i, _ in firings] == [1]
    assert state.merged == 1 and sorted(state.episodes["yard"]) == [1, 2]


def test_two_rules_for_the_same_person_at_the_same_moment_give_one_event():
    # GIVEN an intrusion rule and a night-presence rule over the same zone, at night in Seoul
    night = {"kind": "night_presence", "rule_id": "night-yard", "zone": SQUARE, "hours": {"start": "00:00",
                                                                                          "end": "23:59"}}
    firings, state = run(config(ZONE, night), [[person(0.7, 0.8)]] * 4)
    # THEN the first rule's event stands for both (same severity), the second is merged
    assert [f.rule.rule_id for _, f in firings] == ["yard"]
    assert state.merged == 1


def test_a_more_severe_rule_is_never_merged_into_a_milder_one():
    fall = {"kind": "person_down", "rule_id": "fall", "hold_s": 1}
    frames = [[person(0.7, 0.8)]] * 4 + [[lying(0.7, 0.8)]] * 6
    firings, _ = run(config({**ZONE, "cooldown_s": 0}, fall), frames)
    assert [f.rule.rule_id for _, f in firings] == ["yard", "fall"]
