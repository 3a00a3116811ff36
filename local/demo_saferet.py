"""Demo step for the safe-return app: a walk home from City Hall that leaves its route and raises
an alert, then an SOS nobody cancels that escalates to 112 by itself (through the event pump)."""

from __future__ import annotations

import json
import time
from typing import Any

from chalicelib.adapters.resources import Resources
from chalicelib.models.common import epoch_ms
from chalicelib.models.dispatch import AgencyTarget, DeliveryStatus
from chalicelib.wiring.saferet import build_safe_return
from local import kst
from local.agency_receiver import AgencyReceiver
from local.api_client import authenticated
from local.capture import capture_topic, drain
from local.gps_tracks import CITY_HALL, GWANGHWAMUN, HOME_ROUTE, along, as_api, as_uploaded, offset, points_api, walk
from local.platform import LocalPlatform

SOS_WINDOW_S = 2
"""The demo's SOS asks for a 2 s cancel window (the app's default is the configured 10 s)."""


def _section(title: str) -> None:
    print(f"\n== {title} " + "=" * max(0, 70 - len(title)))


def _cameras(cameras: list[Any]) -> str:
    return ", ".join(f"{c.camera.camera_id} {c.distance_m:.0f} m" for c in cameras)


def _wait_for_dispatch(resources: Resources, incident_id: str, timeout_s: float = 15.0) -> dict[str, Any] | None:
    """The dispatch recorded for the incident (what its agency's webhook is sent)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        item = resources.table("records").get({"pk": f"DISPATCH#{incident_id}", "sk": "record"})
        if item is not None:
            payload: dict[str, Any] = json.loads(item["payload"])
            return payload
        time.sleep(0.1)
    return None


def _agency_receipt(api: str, tokens: dict[str, str], receiver: AgencyReceiver, incident_id: str) -> tuple[str, str]:
    got = receiver.wait_for(incident_id)
    if got is None:
        return ("saferet: 112 webhook + receipt", "NOT RECEIVED")
    print(f"  police 112's webhook received it, signature verified: {got.get('summary')}")
    from golden_time_api_client.api.dispatches import ack_dispatch
    from golden_time_api_client.models import DispatchAck

    police = authenticated(api, tokens["police-112"], "127.0.0.2")
    acked = ack_dispatch.sync(incident_id, client=police, body=DispatchAck(receipt_id="SMPA-DEMO-0001"))
    print(f"  police acknowledged: receipt {acked.receipt_id} ({acked.status.value})")
    ok = acked.status.value == DeliveryStatus.ACKNOWLEDGED.value
    return ("saferet: 112 webhook + receipt", f"signed, acknowledged ({acked.receipt_id})" if ok else "NO RECEIPT")


def run(platform: LocalPlatform, tokens: dict[str, str], resources: Resources) -> list[tuple[str, str]]:
    api = platform.api_url
    # the app and the control center call the API through the typed client generated from openapi.json
    alice, operator = authenticated(api, tokens["app-alice"]), authenticated(api, tokens["operator-1"])
    from golden_time_api_client.api.alerts import ack_alert, list_alerts
    from golden_time_api_client.api.devices import register_device
    from golden_time_api_client.api.protected import person_positions, register_person
    from golden_time_api_client.api.sos import cancel_sos, report_sos
    from golden_time_api_client.api.trips import add_positions, arrive, start_trip
    from golden_time_api_client.models import (
        DeviceRegistration,
        ListAlertsStatusType0,
        PositionReport,
        ProtectedPositions,
        ProtectedRegistration,
        SosRequest,
        TripStart,
    )

    sms_queue = capture_topic(resources, "guardian-sms", "demo-guardian-sms")
    # police 112's receiving system, on loopback: the dispatch reaches it signed, and police acknowledge it
    receiver = AgencyReceiver("")
    receiver.secret = build_safe_return(resources).agencies.register(
        AgencyTarget.POLICE, receiver.url, principal_id="police-112", cidr="127.0.0.2/32").secret
    rows: list[tuple[str, str]] = []

    _section("Safe return: a walk home from City Hall")
    device = register_device.sync(client=alice, body=DeviceRegistration.from_dict({
        "platform": "android", "label": "Alice's phone",
        "guardians": [{"name": "Mom", "phone": "+821012345678", "relation": "mother"}]}))
    trip = start_trip.sync(client=alice, idempotency_key="demo-walk-1", body=TripStart.from_dict({
        "device_id": device.device_id, "origin": {"lat": CITY_HALL[0], "lon": CITY_HALL[1]},
        "destination": {"lat": GWANGHWAMUN[0], "lon": GWANGHWAMUN[1]},
        "route": points_api(HOME_ROUTE)}))
    started_at = trip.started_at
    eta_min = (trip.expected_arrival_at - started_at).total_seconds() / 60
    print(f"  trip {trip.trip_id}: {trip.route_length_m:.0f} m up Sejong-daero, expected in {eta_min:.0f} min")

    # The track turns east into side streets after 400 m (time-compressed so the demo takes seconds).
    turn = along(HOME_ROUTE, 400)
    track = walk([CITY_HALL, HOME_ROUTE[1], turn, offset(turn, 0, 400)], start_ms=epoch_ms(started_at), seconds=110,
                 every_s=2, speed_mps=6.0)
    alert_ids: list[str] = []
    for i in range(0, len(track), 10):
        reply = add_positions.sync(trip.trip_id, client=alice, body=PositionReport.from_dict(
            {"positions": as_api(as_uploaded(track[i:i + 10], seed=i))}))
        alert_ids += reply.alerts or []
    print(f"  {len(track)} GPS fixes uploaded in shuffled batches with repeats → alerts: {alert_ids or 'none'}")
    alerts = list_alerts.sync(client=operator, status=ListAlertsStatusType0.OPEN).alerts
    alert = next((a for a in alerts if a.alert_id in alert_ids), None)
    if alert:
        pos = alert.last_position.location
        print(f"  control center: {alert.kind.value} — {alert.reason}")
        print(f"    last position {pos.lat:.5f}, {pos.lon:.5f} (±{pos.accuracy_m:.0f} m)")
        print(f"    nearest cameras: {_cameras(alert.cameras[:5])}")
        acked = ack_alert.sync(alert.alert_id, client=operator)
        print(f"  operator-1 called Alice back and acknowledged the alert ({acked.status.value})")
    arrive.sync(trip.trip_id, client=alice)
    rows.append(("saferet: deviation alert", f"{alert.kind.value} with {len(alert.cameras)} cameras" if alert else "NONE"))

    _section(f"SOS near City Hall (cancel window {SOS_WINDOW_S} s, nobody cancels)")
    started = time.perf_counter()
    incident = report_sos.sync(client=alice, idempotency_key="demo-sos-1", body=SosRequest.from_dict({
        "location": {"lat": 37.56655, "lon": 126.97795, "accuracy_m": 8}, "trigger": "button",
        "device_id": device.device_id, "cancel_window_s": SOS_WINDOW_S}))
    answered_ms = (time.perf_counter() - started) * 1000
    print(f"  answered in {answered_ms:.0f} ms: {incident.incident_id} {incident.status.value}, cancel until "
          f"{kst.clock(incident.cancel_deadline_at)} (created {kst.stamp(incident.created_at)})")
    print(f"  5 nearest cameras: {_cameras(incident.cameras)}")
    dispatch = _wait_for_dispatch(resources, incident.incident_id)
    if dispatch:
        waited = time.perf_counter() - started
        print(f"  112 dispatch message after {waited:.1f} s (no call needed: delayed message → event pump):")
        loc = dispatch["location"]
        print(f"    incident {dispatch['incident_id']} kind={dispatch['kind']} at {loc['lat']:.5f}, {loc['lon']:.5f} "
              f"(±{loc['accuracy_m']:.0f} m), reported by {dispatch['caller_principal']}")
        print(f"    cameras: {', '.join(c['camera']['camera_id'] for c in dispatch['cameras'])}")
    late = cancel_sos.sync_detailed(incident.incident_id, client=alice)
    refusal = getattr(getattr(late.parsed, "error", None), "message", "")
    print(f"  a cancel after the window: {late.status_code.value} {refusal}")
    rows.append(_agency_receipt(api, tokens, receiver, incident.incident_id))
    receiver.stop()
    rows.append(("saferet: SOS → 112", f"dispatched after {time.perf_counter() - started:.1f} s with "
                 f"{len(dispatch['cameras'])} cameras" if dispatch else "NOT DISPATCHED"))

    _section("Protected person: a safe zone around home")
    home = offset(CITY_HALL, 400, 500)
    created = register_person.sync(client=alice, body=ProtectedRegistration.from_dict({
        "name": "Grandpa Kim", "kind": "dementia", "description": "grey coat, walks with a cane",
        "zones": [{"name": "home", "center": {"lat": home[0], "lon": home[1]}, "radius_m": 150}]}))
    person = created.person
    print(f"  {person.person_id} registered; photo upload to {created.photo_upload.key} "
          f"(≤ {created.photo_upload.max_bytes // 1_000_000} MB)")
    now_ms = int(time.time() * 1000)
    wander = walk([home, offset(home, -600, 200)], start_ms=now_ms - 500_000, seconds=490, every_s=10)
    exits = person_positions.sync(person.person_id, client=alice, body=ProtectedPositions.from_dict(
        {"positions": as_api(as_uploaded(wander))})).alerts
    exit_ids = {a.alert_id for a in exits}
    for exit_alert in [a for a in list_alerts.sync(client=operator).alerts if a.alert_id in exit_ids]:
        seed = exit_alert.search
        seen = seed.last_seen.location
        print(f"  control center: {exit_alert.reason}")
        print(f"    search seed: {seed.name} ({seed.description}), last seen "
              f"{seen.lat:.5f}, {seen.lon:.5f} at {kst.stamp(seed.last_seen.at)}")
        print(f"    nearest cameras: {_cameras(exit_alert.cameras[:5])}")
    rows.append(("saferet: safe-zone exit", f"{len(exits)} alert(s) with a search seed"))

    _section("Guardian SMS (captured from the guardian-sms topic)")
    messages = drain(resources, sms_queue, wait_s=1)
    for message in messages:
        print(f"  to {message['guardian']} {message['phone']}: [{message['kind']}] {message['text']}")
    rows.append(("saferet: guardian SMS", str(len(messages))))
    return rows
