"""SOS watchdog bookkeeping over moto: a marker exists exactly while an incident needs the 112
backstop, and the watchdog sees every marker however many there are."""

from __future__ import annotations

from typing import Any

import pytest
from agency_support import sos_dispatches

from chalicelib.models.camera import Camera, CameraKind
from chalicelib.models.common import Location
from chalicelib.models.sos import IncidentStatus, SosRequest
from chalicelib.services.cameras import CameraRegistry
from chalicelib.services.saferet.sos import PENDING_SOS
from chalicelib.services.saferet.watchdog import SOS_GRACE_MS, sweep
from chalicelib.wiring.saferet import SafeReturn, build_safe_return
from local.capture import drain

T0 = 1_763_800_000_000
OWNER = "app-alice"
HERE = (37.5665, 126.9780)


@pytest.fixture
def saferet(aws) -> SafeReturn:
    registry = CameraRegistry(aws.table("cameras"), aws.store("media"), index_key=aws.settings.camera_index_key)
    registry.load_catalog([Camera(camera_id=f"CAM-{i}", kind=CameraKind.CRIME_PREVENTION, district="Jung-gu",
                                  lat=HERE[0] + i * 0.001, lon=HERE[1]) for i in range(6)])
    return build_safe_return(aws, registry)


def report(saferet: SafeReturn, incident_id: str, at_ms: int = T0, **kw: Any):
    return saferet.sos.create(OWNER, incident_id, SosRequest(location=Location(lat=HERE[0], lon=HERE[1]), **kw), at_ms)


def markers(aws) -> list[str]:
    return [str(i["incident_id"]) for i in aws.table("records").query("owner_id", PENDING_SOS, index="by-owner")]


def dispatched(aws) -> list[str]:
    return [d["incident_id"] for d in sos_dispatches(aws)]


def test_a_replay_after_cancel_leaves_no_marker(aws, saferet):
    # GIVEN an SOS cancelled inside its window
    incident = report(saferet, "inc-00000000000000a1")
    saferet.sos.cancel(OWNER, incident.incident_id, T0 + 2_000)
    assert markers(aws) == []
    # WHEN the phone retries the original report (same id, e.g. an Idempotency-Key replay)
    replayed = report(saferet, incident.incident_id, T0 + 3_000)
    # THEN it answers the stored, cancelled incident and no marker comes back
    assert replayed.status is IncidentStatus.CANCELLED
    assert markers(aws) == []


def test_a_replay_after_escalation_leaves_no_marker(aws, saferet):
    incident = report(saferet, "inc-00000000000000a2")
    assert saferet.sos.escalate(incident.incident_id, T0 + 10_000) is not None
    assert report(saferet, incident.incident_id, T0 + 11_000).status is IncidentStatus.ESCALATED
    immediate = report(saferet, "inc-00000000000000a3", cancel_window_s=0)
    assert report(saferet, immediate.incident_id, T0 + 1).dispatched_ms is not None
    assert markers(aws) == []
    assert sorted(dispatched(aws)) == ["inc-00000000000000a2", "inc-00000000000000a3"]


def test_a_replay_inside_the_window_keeps_the_original_deadline(aws, saferet):
    incident = report(saferet, "inc-00000000000000a4")
    report(saferet, incident.incident_id, T0 + 5_000)
    assert markers(aws) == [incident.incident_id]
    assert saferet.sos.due(T0 + 10_000) == [incident.incident_id]


def test_the_watchdog_clears_markers_an_older_version_left(aws, saferet):
    # GIVEN a cancelled incident whose marker an older version re-created on replay
    incident = report(saferet, "inc-00000000000000a5")
    saferet.sos.cancel(OWNER, incident.incident_id, T0 + 1_000)
    aws.table("records").put({"pk": f"PENDING#SOS#{incident.incident_id}", "sk": "marker",
                              "owner_id": PENDING_SOS, "created_ms": incident.cancel_deadline_ms,
                              "incident_id": incident.incident_id})
    # WHEN the watchdog passes THEN nothing is escalated and the marker is gone
    counts = sweep(saferet.trips, saferet.sos, T0 + 60_000)
    assert counts["escalated"] == 0
    assert markers(aws) == []
    assert dispatched(aws) == []


def test_the_backstop_escalates_a_new_sos_after_2000_replays(aws, saferet):
    # GIVEN 2,000 SOS, each cancelled and then replayed by its phone
    template = report(saferet, "inc-0000000000000000")
    saferet.sos.cancel(OWNER, template.incident_id, T0 + 1_000)
    stored = aws.table("records").get({"pk": f"INCIDENT#{template.incident_id}", "sk": "record"})
    assert stored is not None
    ids = [f"inc-{n:016x}" for n in range(1, 2001)]
    aws.table("records").put_many([{**stored, "pk": f"INCIDENT#{i}", "incident_id": i} for i in ids])
    for incident_id in ids:
        assert report(saferet, incident_id, T0 + 2_000).status is IncidentStatus.CANCELLED
    # AND a new SOS, later than all of them, whose delayed escalation message is lost
    late = report(saferet, "inc-00000000000ffff1", T0 + 60_000)
    drain(aws, aws.queue("sos-escalation").url)
    # WHEN the watchdog passes after its deadline
    counts = sweep(saferet.trips, saferet.sos, late.cancel_deadline_ms + SOS_GRACE_MS)
    # THEN the new SOS reaches 112, and no marker is left
    assert counts["escalated"] == 1
    assert dispatched(aws) == [late.incident_id]
    assert markers(aws) == []
