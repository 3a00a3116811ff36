"""The operator queue and monitor state in the records table (moto): ordering, ack/resolve, the SOS
boost read from the safe-return service's incidents, and optimistic state versions."""

from __future__ import annotations

import time

import pytest

from chalicelib.errors import Conflict, NotFound, TransientError
from chalicelib.models.camera import Camera, CameraKind
from chalicelib.models.common import Location
from chalicelib.models.selective_monitor import EventStatus, MonitorEvent, RuleKind
from chalicelib.models.sos import SosRequest
from chalicelib.services.cameras import CameraRegistry
from chalicelib.services.selective_monitor import CameraState, CameraStateStore
from chalicelib.services.selective_monitor.priority import SOS_BOOST, base_priority
from chalicelib.wiring.saferet import build_safe_return
from chalicelib.wiring.selective_monitor import build_monitoring

CITY_HALL = (37.5663, 126.9779)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@pytest.fixture
def cameras(aws):
    registry = CameraRegistry(aws.table("cameras"), aws.store("media"), index_key="indexes/cameras.npz")
    registry.load_catalog([Camera(camera_id=f"CAM-{i}", kind=CameraKind.CRIME_PREVENTION, district="Jung-gu",
                                  lat=CITY_HALL[0] + i * 0.003, lon=CITY_HALL[1]) for i in range(8)])
    return registry


def event(camera_id: str, t_ms: int, kind: RuleKind = RuleKind.ZONE_INTRUSION, severity: int = 3,
          score: float = 0.8) -> MonitorEvent:
    return MonitorEvent(event_id=f"mon-{camera_id}.{t_ms}.{kind.value}", camera_id=camera_id, t_ms=t_ms,
                        rule_id=kind.value.replace("_", "-"), kind=kind, score=score, severity=severity,
                        priority=base_priority(severity, score), reason="test", boxes=[],
                        source_key=f"monitor/{camera_id}/{t_ms}.jpg", raised_ms=t_ms)


def test_events_are_stored_once_and_queued_by_priority_then_recency(aws, cameras):
    events = build_monitoring(aws, cameras).events
    t = now_ms()
    # GIVEN two intrusions (older, newer) and a fall that happened first
    assert events.add(event("CAM-1", t - 3000))
    assert events.add(event("CAM-2", t - 1000))
    assert events.add(event("CAM-3", t - 5000, RuleKind.PERSON_DOWN, severity=5))
    assert not events.add(event("CAM-1", t - 3000))  # a retried object
    # WHEN the operator lists the queue
    queued = events.queue(now_ms=t)
    # THEN the fall comes first, then the intrusions newest first
    assert [e.camera_id for e in queued] == ["CAM-3", "CAM-2", "CAM-1"]
    assert [e.camera_id for e in events.queue(now_ms=t, camera_id="CAM-1")] == ["CAM-1"]
    assert len(events.queue(now_ms=t, limit=2)) == 2


def test_ack_then_resolve_takes_an_event_out_of_the_queue(aws, cameras):
    events = build_monitoring(aws, cameras).events
    t = now_ms()
    e = event("CAM-1", t)
    events.add(e)
    acked = events.ack(e.event_id, "operator-1", t + 1000)
    assert (acked.status, acked.acked_by, acked.acked_ms) == (EventStatus.ACKNOWLEDGED, "operator-1", t + 1000)
    assert events.ack(e.event_id, "operator-2", t + 2000).acked_by == "operator-1"  # repeat: same answer
    assert [x.status for x in events.queue(now_ms=t)] == [EventStatus.ACKNOWLEDGED]
    resolved = events.resolve(e.event_id, "operator-1", t + 5000, note="a gardener")
    assert (resolved.status, resolved.note, resolved.resolved_ms) == (EventStatus.RESOLVED, "a gardener", t + 5000)
    assert events.queue(now_ms=t) == []
    assert [x.event_id for x in events.queue(now_ms=t, status=EventStatus.RESOLVED)] == [e.event_id]
    with pytest.raises(Conflict):
        events.ack(e.event_id, "operator-1", t + 6000)
    with pytest.raises(NotFound):
        events.ack("CAM-1.1.nope", "operator-1", t)


def test_resolving_an_open_event_records_who_acknowledged_it(aws, cameras):
    events = build_monitoring(aws, cameras).events
    e = event("CAM-1", now_ms())
    events.add(e)
    resolved = events.resolve(e.event_id, "operator-7", e.t_ms + 10)
    assert (resolved.acked_by, resolved.resolved_by) == ("operator-7", "operator-7")


def test_an_sos_near_a_camera_raises_its_events_to_the_top_until_cancelled(aws, cameras):
    monitoring = build_monitoring(aws, cameras)
    saferet = build_safe_return(aws, cameras)
    t = now_ms()
    # GIVEN a severe event far from City Hall and a minor one at the City Hall camera
    monitoring.events.add(event("CAM-7", t - 1000, RuleKind.PERSON_DOWN, severity=5))
    monitoring.events.add(event("CAM-0", t - 2000, RuleKind.CROWDING, severity=2))
    assert [e.camera_id for e in monitoring.events.queue(now_ms=t)] == ["CAM-7", "CAM-0"]

    # WHEN a citizen presses SOS at City Hall
    incident = saferet.sos.create("app-alice", "inc-00000000000000a1",
                                  SosRequest(location=Location(lat=CITY_HALL[0], lon=CITY_HALL[1]), cancel_window_s=60), t)

    # THEN the City Hall camera's event jumps ahead, naming the incident
    queued = monitoring.events.queue(now_ms=t)
    assert [e.camera_id for e in queued] == ["CAM-0", "CAM-7"]
    assert queued[0].sos_incident_ids == [incident.incident_id]
    assert queued[0].priority == pytest.approx(base_priority(2, 0.8) + SOS_BOOST)
    assert queued[1].sos_incident_ids == []
    # AND once the SOS is cancelled the order is back to severity
    saferet.sos.cancel("app-alice", incident.incident_id, t + 1000)
    assert [e.camera_id for e in monitoring.events.queue(now_ms=t)] == ["CAM-7", "CAM-0"]


def test_camera_state_versions_refuse_a_concurrent_writer(aws):
    states = CameraStateStore(aws.table("records"))
    state, version = states.load("CAM-1")
    assert version == 0
    state.frames = 3
    assert states.save("CAM-1", state, version) == 1
    # GIVEN a second worker that loaded the state before the first saved
    with pytest.raises(TransientError):
        states.save("CAM-1", CameraState(frames=1), version)
    loaded, version = states.load("CAM-1")
    assert (loaded.frames, version) == (3, 1)
