"""Hand-over between district control centers over moto: one conditional update of the owner, audited, and
never lost to (nor undoing) a concurrent escalation."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from chalicelib.errors import Conflict
from chalicelib.models.common import Location
from chalicelib.models.sos import HandoverRequest, IncidentStatus, SosRequest
from chalicelib.services.audit import AuditLog
from chalicelib.wiring.saferet import build_safe_return

T0 = 1_763_800_000_000
OWNER = "app-alice"
GWANGHWAMUN = (37.5759, 126.9768)  # Jongno-gu (JN)


class GatedTable:
    """The real (moto) table, with a hook run just before each incident update: it lets a test put two
    writers between their read and their write, the window a race lives in. DynamoDB applies a conditional
    write atomically per item; in-process moto does not, so the calls themselves are serialised here as the
    service would see them."""

    def __init__(self, table: Any) -> None:
        self._table = table
        self._atomic = threading.Lock()
        self.before_update: Callable[[Mapping[str, Any]], None] | None = None

    def update(self, key: Mapping[str, Any], changes: Mapping[str, Any], **kwargs: Any) -> dict[str, Any]:
        if self.before_update is not None and str(key["pk"]).startswith("INCIDENT#"):
            self.before_update(changes)
        with self._atomic:
            result: dict[str, Any] = self._table.update(key, changes, **kwargs)
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self._table, name)


@pytest.fixture
def saferet(aws):
    services = build_safe_return(aws)
    gated = GatedTable(aws.table("records"))
    services.sos._table = gated  # every read and write still goes to moto
    return services, gated


def handovers(aws) -> list[Any]:
    since_ms = int((time.time() - 3600) * 1000)  # the audit log stamps records with the wall clock
    return [r for r in AuditLog(aws.table("audit")).records(since_ms=since_ms) if r.action == "incident.handed-over"]


def sos(services: Any, incident_id: str, window_s: int) -> Any:
    request = SosRequest(location=Location(lat=GWANGHWAMUN[0], lon=GWANGHWAMUN[1]), kind="crime", cancel_window_s=window_s)  # type: ignore[arg-type]
    return services.sos.create(OWNER, incident_id, request, T0)


def test_two_concurrent_hand_overs_one_wins_the_other_is_told_who_has_it(aws, saferet):
    services, gated = saferet
    incident = sos(services, "inc-00000000000000d1", 0)
    assert incident.control_center == "JN"
    # GIVEN two Jongno operators hand the same incident over at once, to Gangnam and to Mapo: both have read
    # it (owner JN) before either writes
    barrier = threading.Barrier(2, timeout=10)
    gated.before_update = lambda changes: barrier.wait() if "control_center" in changes else None
    outcomes: dict[str, Any] = {}

    def hand(to: str, operator: str) -> None:
        try:
            outcomes[to] = services.sos.hand_over(incident.incident_id, HandoverRequest(
                district=to, from_district="JN", reason=f"nearer {to}"), operator_id=operator,
                source_ip="10.1.2.3", now_ms=T0 + 5_000)
        except Conflict as exc:
            outcomes[to] = exc

    threads = [threading.Thread(target=hand, args=(to, op)) for to, op in (("GN", "op-kim"), ("MP", "op-lee"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # THEN exactly one won; the other got a conflict naming the winner
    [winner] = [to for to, o in outcomes.items() if not isinstance(o, Exception)]
    [loser] = [o for o in outcomes.values() if isinstance(o, Exception)]
    assert winner in str(loser)
    stored = services.sos.get(incident.incident_id, None)
    assert stored.control_center == winner
    # AND the escalation's state is intact, and the control centers' feed agrees with the record
    assert stored.status is IncidentStatus.ESCALATED and stored.dispatched_ms is not None
    assert [i.incident_id for i in services.sos.recent(district=winner)] == [incident.incident_id]
    assert services.sos.recent(district="JN") == []
    # AND one audit record says who handed what to whom, when and why
    [record] = handovers(aws)
    assert record.subject == incident.incident_id and record.source_ip == "10.1.2.3"
    assert record.actor == {"GN": "op-kim", "MP": "op-lee"}[winner]
    assert record.details["from"] == "JN" and record.details["to"] == winner
    assert record.details["reason"] == f"nearer {winner}" and record.details["at_ms"] == T0 + 5_000


def test_a_hand_over_during_escalation_is_kept_and_the_dispatch_too(aws, saferet):
    # GIVEN an SOS inside its cancel window
    services, gated = saferet
    incident = sos(services, "inc-00000000000000d2", 10)

    # WHEN an operator hands it to Gangnam just after the escalation read it (before the escalation's write)
    def hand_over_first(changes: Mapping[str, Any]) -> None:
        if changes.get("status") == "escalated" and "claim_ms" in changes:
            gated.before_update = None
            services.sos.hand_over(incident.incident_id, HandoverRequest(district="GN", reason="closer unit"),
                                   operator_id="op-kim", source_ip=None, now_ms=T0 + 10_500)

    gated.before_update = hand_over_first
    escalated = services.sos.escalate(incident.incident_id, T0 + 11_000)
    # THEN neither write undid the other: escalated, dispatched, and with Gangnam
    assert escalated is not None and escalated.control_center == "GN"
    stored = services.sos.get(incident.incident_id, None)
    assert (stored.status, stored.control_center) == (IncidentStatus.ESCALATED, "GN")
    assert stored.dispatched_ms == T0 + 11_000
    # AND the feed shows the newest state
    [listed] = services.sos.recent(district="GN")
    assert listed.status is IncidentStatus.ESCALATED and listed.control_center == "GN"
    assert [(r.details["from"], r.details["to"]) for r in handovers(aws)] == [("JN", "GN")]


def test_a_hand_over_from_a_stale_view_or_to_the_same_center_is_refused(aws, saferet):
    services, _ = saferet
    incident = sos(services, "inc-00000000000000d3", 0)
    with pytest.raises(Conflict, match="JN"):
        services.sos.hand_over(incident.incident_id, HandoverRequest(district="GN", from_district="MP", reason="x"),
                               operator_id="op", source_ip=None, now_ms=T0)
    with pytest.raises(Conflict, match="already"):
        services.sos.hand_over(incident.incident_id, HandoverRequest(district="JN", reason="x"),
                               operator_id="op", source_ip=None, now_ms=T0)
    assert handovers(aws) == []
