"""Pure rule evaluation over one camera's tracked people, frame by frame.

``observe(config, state, t_ms, detections)`` updates the camera's tracker, evaluates each active
rule and returns the firings that survive the cooldown and merging. Everything it remembers
lives in ``CameraState`` (plain data, stored between invocations): the scene baseline that
decides which frames need the detector (``detect_awake``), per-person timers on the tracks,
per-rule last firing, open episodes and crowd episodes, and the camera-time accounting.

Surfaced camera-time, precisely: each event holds an operator's attention from the frame that
fired it for as long as its episode lasts (any of its people still meets the rule: in the zone,
down, the place still crowded) and ``review_s`` seconds after (looking, deciding). The surfaced
share is the union of those intervals over the observed camera-time; an operator who watches 48
cameras continuously can keep up with 48 ÷ share cameras.

Merging: a firing while the same rule's episode is still open (a group trickling onto the lawn)
joins that event instead of raising another; so does a firing whose people all belong to another
rule's event of at least the same severity raised under ``MERGE_MS`` ago (intrusion and night
presence for one person in one frame). Both are counted in ``merged``.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from chalicelib.models.selective_monitor import (
    DEFAULT_SEVERITY,
    CameraRules,
    CrowdingRule,
    LoiteringRule,
    NightPresenceRule,
    PersonDownRule,
    Polygon,
    Rule,
    ZoneIntrusionRule,
)
from chalicelib.services.selective_monitor.baseline import SceneBaseline
from chalicelib.services.selective_monitor.tracker import Box, Track, Tracker
from chalicelib.video.detect import Detection, Detector, Frame

MAX_FRAME_GAP_MS = 60_000  # a longer silence is not counted as observed camera-time
MIN_TRACK_GAP_MS = 2000  # a person unseen this long (or 3 frame intervals, if longer) is forgotten
REARM_MS = 2000  # out of the zone this long before a person counts as having left (misses, jitter)
BOTTOM_EDGE = 0.98  # boxes cut by the frame's bottom edge look wide: never a fall
MERGE_MS = 1000  # another rule's event for the same people this recent (the same moment) absorbs a firing


@dataclass(frozen=True)
class Firing:
    rule: Rule
    t_ms: int
    score: float
    tracks: tuple[Track, ...]
    reason: str

    @property
    def severity(self) -> int:
        return self.rule.severity or DEFAULT_SEVERITY[self.rule.kind]


@dataclass
class CameraState:
    tracker: Tracker = field(default_factory=Tracker)
    last_fired_ms: dict[str, int] = field(default_factory=dict)
    crowd_since_ms: dict[str, int] = field(default_factory=dict)
    crowd_fired: list[str] = field(default_factory=list)
    last_frame_ms: int | None = None
    observed_ms: int = 0
    surfaced_ms: int = 0
    surfaced_until_ms: int = 0
    frames: int = 0
    events: int = 0
    suppressed: int = 0
    merged: int = 0
    episodes: dict[str, list[int]] = field(default_factory=dict)  # rule id → people of its open event
    scene: SceneBaseline = field(default_factory=SceneBaseline)

    @property
    def surfaced_share(self) -> float:
        return self.surfaced_ms / self.observed_ms if self.observed_ms else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"tracker": self.tracker.to_dict(), "last_fired_ms": dict(self.last_fired_ms),
                "crowd_since_ms": dict(self.crowd_since_ms), "crowd_fired": list(self.crowd_fired),
                "last_frame_ms": self.last_frame_ms, "observed_ms": self.observed_ms,
                "surfaced_ms": self.surfaced_ms, "surfaced_until_ms": self.surfaced_until_ms,
                "frames": self.frames, "events": self.events, "suppressed": self.suppressed, "merged": self.merged,
                "episodes": {k: list(v) for k, v in self.episodes.items()}, "scene": self.scene.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CameraState:
        last = data.get("last_frame_ms")
        return cls(tracker=Tracker.from_dict(data.get("tracker", {})),
                   last_fired_ms={k: int(v) for k, v in data.get("last_fired_ms", {}).items()},
                   crowd_since_ms={k: int(v) for k, v in data.get("crowd_since_ms", {}).items()},
                   crowd_fired=list(data.get("crowd_fired", [])), last_frame_ms=None if last is None else int(last),
                   observed_ms=int(data.get("observed_ms", 0)), surfaced_ms=int(data.get("surfaced_ms", 0)),
                   surfaced_until_ms=int(data.get("surfaced_until_ms", 0)), frames=int(data.get("frames", 0)),
                   events=int(data.get("events", 0)), suppressed=int(data.get("suppressed", 0)),
                   merged=int(data.get("merged", 0)),
                   episodes={k: [int(i) for i in v] for k, v in data.get("episodes", {}).items()},
                   scene=SceneBaseline.from_dict(data.get("scene", {})))


def inside(point: tuple[float, float], polygon: Polygon) -> bool:
    """Even-odd ray casting; ``polygon`` in the same normalised coordinates as ``point``."""
    x, y = point
    result = False
    j = len(polygon) - 1
    for i in range(len(polygon)):
        xi, yi = polygon[i]
        xj, yj = polygon[j]
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            result = not result
        j = i
    return result


def local_minute(t_ms: int, utc_offset_minutes: int) -> int:
    return int((t_ms // 60_000 + utc_offset_minutes) % 1440)


def active(rule: Rule, minute: int) -> bool:
    return rule.enabled and (not rule.windows or any(w.contains(minute) for w in rule.windows))


def _people(rule: Rule, tracks: Sequence[Track], zone: Polygon | None) -> list[Track]:
    return [t for t in tracks if t.label in rule.labels and t.score >= rule.min_score
            and (zone is None or inside(t.foot, zone))]


def _mean_score(tracks: Sequence[Track]) -> float:
    return round(sum(t.score for t in tracks) / len(tracks), 4) if tracks else 0.0


def _outside(rule_id: str, track: Track, t_ms: int) -> bool:
    """Record that ``track`` is out of the rule's zone; True once it has been out for ``REARM_MS``."""
    since = track.marks.setdefault(f"{rule_id}:out", t_ms)
    return t_ms - since >= REARM_MS


def _split(rule: Rule, zone: Polygon | None, visible: Sequence[Track], t_ms: int) -> list[Track]:
    """People inside now; those out long enough are re-armed (their timers and firing cleared)."""
    present = _people(rule, visible, zone)
    ids = {t.track_id for t in present}
    for track in visible:
        if track.track_id in ids:
            track.marks.pop(f"{rule.rule_id}:out", None)
        elif _outside(rule.rule_id, track, t_ms):
            track.marks.pop(rule.rule_id, None)
            if rule.rule_id in track.fired:
                track.fired.remove(rule.rule_id)
    return present


def _entries(rule: ZoneIntrusionRule | NightPresenceRule, zone: Polygon | None, visible: Sequence[Track],
             t_ms: int) -> list[Track]:
    """People newly inside (once per person until they have left the zone again)."""
    return [t for t in _split(rule, zone, visible, t_ms) if rule.rule_id not in t.fired]


def _loiterers(rule: LoiteringRule, visible: Sequence[Track], t_ms: int) -> list[Track]:
    present = _split(rule, rule.zone, visible, t_ms)
    for track in present:
        track.marks.setdefault(rule.rule_id, t_ms)
    return [t for t in present if t_ms - t.marks[rule.rule_id] >= rule.dwell_s * 1000
            and rule.rule_id not in t.fired]


def _fallen(rule: PersonDownRule, visible: Sequence[Track], t_ms: int) -> list[Track]:
    up, down = f"{rule.rule_id}:up", f"{rule.rule_id}:down"
    out = []
    for track in _people(rule, visible, None):
        if track.aspect >= rule.upright_ratio:
            track.marks[up] = t_ms
            track.marks.pop(down, None)
            if rule.rule_id in track.fired:
                track.fired.remove(rule.rule_id)  # standing again: re-armed
        elif up in track.marks and track.aspect <= rule.down_ratio and track.box[3] < BOTTOM_EDGE:
            since = track.marks.setdefault(down, t_ms)
            if t_ms - since >= rule.hold_s * 1000 and rule.rule_id not in track.fired:
                out.append(track)
        else:
            track.marks.pop(down, None)
    return out


def _crowd(rule: CrowdingRule, state: CameraState, visible: Sequence[Track], t_ms: int) -> list[Track]:
    people = _people(rule, visible, rule.zone)
    if len(people) < rule.threshold:
        state.crowd_since_ms.pop(rule.rule_id, None)
        if rule.rule_id in state.crowd_fired:
            state.crowd_fired.remove(rule.rule_id)  # the episode is over
        return []
    since = state.crowd_since_ms.setdefault(rule.rule_id, t_ms)
    if t_ms - since >= rule.hold_s * 1000 and rule.rule_id not in state.crowd_fired:
        state.crowd_fired.append(rule.rule_id)
        return people
    return []


def _candidates(rule: Rule, state: CameraState, confirmed: Sequence[Track], seen: Sequence[Track], t_ms: int,
                minute: int) -> tuple[list[Track], str]:
    """Who makes ``rule`` fire now: confirmed people (seen in ``confirm_frames`` frames), except for
    crowding, which counts every person in the frame."""
    visible = confirmed
    if isinstance(rule, ZoneIntrusionRule):
        found = _entries(rule, rule.zone, visible, t_ms)
        return found, f"{len(found)} person(s) entered zone {rule.rule_id}"
    if isinstance(rule, LoiteringRule):
        found = _loiterers(rule, visible, t_ms)
        return found, f"{len(found)} person(s) in zone {rule.rule_id} for over {rule.dwell_s:g} s"
    if isinstance(rule, PersonDownRule):
        found = _fallen(rule, visible, t_ms)
        return found, f"{len(found)} person(s) down for over {rule.hold_s:g} s"
    if isinstance(rule, CrowdingRule):
        found = _crowd(rule, state, seen, t_ms)
        return found, f"{len(found)} people (threshold {rule.threshold}) for over {rule.hold_s:g} s"
    if not rule.hours.contains(minute):
        return [], ""
    found = _entries(rule, rule.zone, visible, t_ms)
    return found, f"{len(found)} person(s) present during night hours {rule.hours.start}-{rule.hours.end}"


def observe(config: CameraRules, state: CameraState, t_ms: int,
            detections: Sequence[tuple[Box, float, str]]) -> list[Firing]:
    """One frame at ``t_ms`` (normalised boxes): track, evaluate, apply cooldowns, account camera-time."""
    if state.last_frame_ms is not None and t_ms > state.last_frame_ms:
        gap = t_ms - state.last_frame_ms
        if gap <= MAX_FRAME_GAP_MS:
            state.observed_ms += gap
            state.surfaced_ms += max(0, min(t_ms, state.surfaced_until_ms) - state.last_frame_ms)
    state.last_frame_ms = t_ms if state.last_frame_ms is None else max(t_ms, state.last_frame_ms)
    state.frames += 1
    wanted = {label for rule in config.rules for label in rule.labels}
    floor = min((rule.min_score for rule in config.rules), default=1.0)
    # sparse stills (one every few seconds) must not forget everyone between two frames
    state.tracker.max_gap_ms = max(MIN_TRACK_GAP_MS, int(3000 / config.sample_fps))
    state.tracker.update(t_ms, [d for d in detections if d[2] in wanted and d[1] >= floor])
    seen = state.tracker.visible(t_ms)
    confirmed = [t for t in seen if t.hits >= config.confirm_frames]
    minute = local_minute(t_ms, config.utc_offset_minutes)
    firings: list[Firing] = []
    for rule in config.rules:
        if not active(rule, minute):
            continue
        tracks, reason = _candidates(rule, state, confirmed, seen, t_ms, minute)
        if not tracks:
            continue
        if not isinstance(rule, CrowdingRule):
            for track in tracks:
                track.fired.append(rule.rule_id)  # covered by this firing (or the one the cooldown keeps)
        last = state.last_fired_ms.get(rule.rule_id)
        if last is not None and 0 <= t_ms - last < rule.cooldown_s * 1000:
            state.suppressed += 1
            continue
        if _merged(config, rule, state, tracks, t_ms):
            state.merged += 1
            continue
        state.last_fired_ms[rule.rule_id] = t_ms
        state.events += 1
        state.episodes[rule.rule_id] = [t.track_id for t in tracks]
        state.surfaced_until_ms = max(state.surfaced_until_ms, t_ms + int(config.review_s * 1000))
        firings.append(Firing(rule=rule, t_ms=t_ms, score=_mean_score(tracks), tracks=tuple(copy.deepcopy(t) for t in tracks),
                               reason=reason))
    _hold_episodes(config, state, t_ms)
    return firings


def _severity(rule: Rule) -> int:
    return rule.severity or DEFAULT_SEVERITY[rule.kind]


def _merged(config: CameraRules, rule: Rule, state: CameraState, tracks: Sequence[Track], t_ms: int) -> bool:
    """Whether this firing joins an event already in front of the operator (see the module's docstring)."""
    ids = {t.track_id for t in tracks}
    own = state.episodes.get(rule.rule_id)
    if own is not None and not isinstance(rule, CrowdingRule):
        own.extend(sorted(ids - set(own)))
        return True
    for other in config.rules:
        people = state.episodes.get(other.rule_id)
        fired = state.last_fired_ms.get(other.rule_id)
        if (other.rule_id != rule.rule_id and people is not None and fired is not None
                and 0 <= t_ms - fired < MERGE_MS and ids <= set(people) and _severity(other) >= _severity(rule)):
            return True
    return False


def _last_meeting(rule: Rule, state: CameraState, people: Sequence[int], t_ms: int) -> int | None:
    """When an event's people (tracked, not yet forgotten) were last seen meeting its rule; None once
    the episode is over."""
    if isinstance(rule, CrowdingRule):
        return t_ms if rule.rule_id in state.crowd_fired else None
    tracks = [t for t in state.tracker.tracks if t.track_id in people]
    if isinstance(rule, PersonDownRule):
        tracks = [t for t in tracks if f"{rule.rule_id}:down" in t.marks]
    else:
        tracks = _people(rule, tracks, rule.zone)
    return max((t.last_ms for t in tracks), default=None)


def _hold_episodes(config: CameraRules, state: CameraState, t_ms: int) -> None:
    """Open episodes keep the camera surfaced until ``review_s`` after their people were last seen in them."""
    rules = {rule.rule_id: rule for rule in config.rules}
    for rule_id, people in list(state.episodes.items()):
        rule = rules.get(rule_id)
        last = None if rule is None else _last_meeting(rule, state, people, t_ms)
        if last is None:
            del state.episodes[rule_id]
        else:
            state.surfaced_until_ms = max(state.surfaced_until_ms, last + int(config.review_s * 1000))


def detect_awake(detector: Detector, state: CameraState, frames: Sequence[Frame]) -> list[list[Detection]]:
    """The detector's findings for the frames that need it, [] for the rest.

    A frame needs the detector when the scene baseline sees a change beyond its noise, when someone
    was being followed at the batch's start (a person standing still), or when an earlier frame of
    the batch needed it. Every frame teaches the baseline; dark frames reach the detector brightened."""
    last = state.last_frame_ms
    awake = last is not None and any(last - t.last_ms <= state.tracker.max_gap_ms for t in state.tracker.tracks)
    wanted = []
    for frame in frames:
        awake = state.scene.wakes(frame) or awake
        wanted.append(awake)
    picked = [state.scene.exposed(f) for f, w in zip(frames, wanted, strict=True) if w]
    found = iter(detector.detect(picked) if picked else [])
    return [next(found) if w else [] for w in wanted]
