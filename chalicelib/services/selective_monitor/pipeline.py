"""One uploaded still or clip through the monitor: decode → detect → track + rules → events.

The frame loop is handed its stages (detector, stores, media bucket); nothing here knows AWS.
Events and their snapshots are written before the camera state, so a crash in between makes the
retry recompute the same firings from the old state and find the events already stored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from chalicelib.models.selective_monitor import CameraRules, EventBox, MonitorEvent
from chalicelib.ports import ObjectStore
from chalicelib.services.selective_monitor.media import MediaKey, cut_clip, decode_still, event_snapshot, parse_key, sample_clip
from chalicelib.services.selective_monitor.priority import priority
from chalicelib.services.selective_monitor.rules import CameraState, Firing, detect_awake, observe
from chalicelib.services.selective_monitor.store import CameraRulesStore, CameraStateStore, MonitorEventStore
from chalicelib.services.selective_monitor.tracker import normalise
from chalicelib.video.detect import Detection, Detector, Frame

logger = logging.getLogger(__name__)
SNAPSHOT_PREFIX = "monitor-snapshots"  # outside monitor/, so snapshots never trigger the monitor
CLIP_PREFIX = "monitor-clips"
DETECT_BATCH = 8
DetectedFrame = tuple[int, Frame, Sequence[Detection]]  # (time ms, frame, what the detector found in it)
Detected = Callable[[CameraState], Iterable[DetectedFrame]]  # the frames after the state's last one


@dataclass(frozen=True)
class MonitorOutcome:
    camera_id: str
    key: str
    outcome: str  # "analysed" | "no-rules" | "stale"
    frames: int = 0
    events: tuple[str, ...] = ()
    observed_ms: int = 0
    surfaced_ms: int = 0


def frames_of(key: MediaKey, data: bytes, fps: float) -> Iterator[tuple[int, Frame]]:
    if key.still:
        yield key.start_ms, decode_still(data)
        return
    for offset_ms, frame in sample_clip(data, fps):
        yield key.start_ms + offset_ms, frame


def _batches(frames: Iterator[tuple[int, Frame]], size: int) -> Iterator[list[tuple[int, Frame]]]:
    batch: list[tuple[int, Frame]] = []
    for item in frames:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


class MonitorPipeline:
    def __init__(self, detector: Detector, *, media: ObjectStore, rules: CameraRulesStore,
                 states: CameraStateStore, events: MonitorEventStore) -> None:
        self.detector = detector
        self._media = media
        self._rules = rules
        self._states = states
        self._events = events

    def process(self, key: str, data: bytes, now_ms: int) -> MonitorOutcome:
        media_key = parse_key(key)
        config = self._rules.get(media_key.camera_id)
        if config is None or not config.rules:
            return MonitorOutcome(camera_id=media_key.camera_id, key=key, outcome="no-rules")

        def detected(state: CameraState) -> Iterator[DetectedFrame]:
            for batch in _batches(frames_of(media_key, data, config.sample_fps), DETECT_BATCH):
                last = state.last_frame_ms
                batch = [(t, f) for t, f in batch if last is None or t > last]  # seen before a retry
                if batch:  # only the frames the scene baseline says need the detector
                    found = detect_awake(self.detector, state, [f for _, f in batch])
                    yield from ((t, f, d) for (t, f), d in zip(batch, found, strict=True))

        return self.observe(media_key.camera_id, key, detected, now_ms,
                            still_ms=media_key.start_ms if media_key.still else None,
                            clip=None if media_key.still else (data, media_key.start_ms))

    def observe(self, camera_id: str, key: str, detected: Detected, now_ms: int, *,
                still_ms: int | None = None, clip: tuple[bytes, int] | None = None) -> MonitorOutcome:
        """The camera's rules over frames with their detections; ``detected(state)`` yields those after the
        state's last frame. :meth:`process` detects here; the search indexer hands over its own detector pass.
        ``clip`` is the uploaded clip and its start, to cut each event's moment from."""
        config = self._rules.get(camera_id)
        if config is None or not config.rules:
            return MonitorOutcome(camera_id=camera_id, key=key, outcome="no-rules")
        state, version = self._states.load(camera_id)
        if state.last_frame_ms is not None and still_ms is not None and still_ms < state.last_frame_ms:
            return MonitorOutcome(camera_id=camera_id, key=key, outcome="stale")
        observed0, surfaced0 = state.observed_ms, state.surfaced_ms
        frames, raised = 0, []
        for t_ms, frame, found in detected(state):
            if state.last_frame_ms is not None and t_ms <= state.last_frame_ms:
                continue
            h, w = frame.shape[:2]
            boxes = [(normalise(d, w, h), float(d.score), d.label) for d in found]
            frames += 1
            for firing in observe(config, state, t_ms, boxes):
                source = None if clip is None else (clip[0], t_ms - clip[1])
                raised.append(self._raise(camera_id, key, config, firing, frame, now_ms, source))
        self._states.save(camera_id, state, version)
        return MonitorOutcome(camera_id=camera_id, key=key, outcome="analysed", frames=frames,
                              events=tuple(e for e in raised if e), observed_ms=state.observed_ms - observed0,
                              surfaced_ms=state.surfaced_ms - surfaced0)

    def _raise(self, camera_id: str, key: str, config: CameraRules, firing: Firing, frame: Frame,
               now_ms: int, source: tuple[bytes, int] | None = None) -> str:
        event_id = f"mon-{camera_id}.{firing.t_ms}.{firing.rule.rule_id}"  # deterministic: a replayed frame is one event
        snapshot_key = f"{SNAPSHOT_PREFIX}/{camera_id}/{event_id}.jpg"
        boxes = [EventBox(x1=t.box[0], y1=t.box[1], x2=t.box[2], y2=t.box[3], score=round(min(t.score, 1.0), 4),
                          label=t.label, track_id=t.track_id) for t in firing.tracks[:64]]
        snapshot = event_snapshot(frame, boxes=[(b.x1, b.y1, b.x2, b.y2, f"#{b.track_id} {b.score:.2f}") for b in boxes],
                                  zone=getattr(firing.rule, "zone", None), camera_id=camera_id,
                                  rule_id=firing.rule.rule_id, kind=firing.rule.kind.value, t_ms=firing.t_ms,
                                  utc_offset_minutes=config.utc_offset_minutes)
        self._media.put(snapshot_key, snapshot, content_type="image/jpeg")
        clip_key = None
        if source is not None:  # the moment in motion, cut from the uploaded clip
            clip_key = f"{CLIP_PREFIX}/{camera_id}/{event_id}.mp4"
            self._media.put(clip_key, cut_clip(*source), content_type="video/mp4")
        near = self._events.sos_near(camera_id, now_ms)
        event = MonitorEvent(event_id=event_id, camera_id=camera_id, t_ms=firing.t_ms, rule_id=firing.rule.rule_id,
                             kind=firing.rule.kind, score=min(firing.score, 1.0), severity=firing.severity,
                             priority=priority(firing.severity, firing.score, near), sos_incident_ids=near,
                             reason=firing.reason[:300], boxes=boxes, snapshot_key=snapshot_key, clip_key=clip_key,
                             source_key=key, raised_ms=now_ms)
        if self._events.add(event):
            logger.info("monitor event raised", extra={"event_id": event_id, "rule": firing.rule.rule_id})
            return event_id
        return ""


def replay(config: CameraRules, detections_per_frame: list[tuple[int, list[tuple[tuple[float, float, float, float],
                                                                                float, str]]]],
           state: CameraState | None = None) -> tuple[list[Firing], CameraState]:
    """Rules over precomputed (t_ms, normalised detections) frames: the evaluation without I/O."""
    state = state or CameraState()
    firings: list[Firing] = []
    for t_ms, boxes in detections_per_frame:
        firings.extend(observe(config, state, t_ms, boxes))
    return firings, state
