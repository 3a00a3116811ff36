"""Demo step for the safe-return app: a walk home from City Hall that leaves its route and raises
an alert, then an SOS nobody cancels that escalates to 112 by itself (through the event pump)."""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any

from chalicelib.adapters.resources import Resources
from chalicelib.models.common import epoch_ms
from chalicelib.models.dispatch import AgencyTarget, DeliveryStatus
from chalicelib.wiring.saferet import build_safe_return
from local.agency_receiver import AgencyReceiver
from local.capture import capture_topic, drain
from local.gps_tracks import CITY_HALL, GWANGHWAMUN, HOME_ROUTE, along, as_api, as_uploaded, offset, points_api, walk
from local.http_client import session_from
from local.platform import LocalPlatform

SOS_WINDOW_S = 2
"""The demo's SOS asks for a 2 s cancel window (the app's default is the configured 10 s)."""


def _section(title: str) -> None:
    print(f"\n== {title} " + "=" * max(0, 70 - len(title)))


def _cameras(cameras: list[dict[str, Any]]) -> str:
    return ", ".join(f"{c['camera']['camera_id']} {c['distance_m']:.0f} m" for c in cameras)


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
    police = session_from("127.0.0.2", tokens["police-112"])
    acked = police.post(f"{api}/v1/dispatches/{incident_id}/ack", json={"receipt_id": "SMPA-DEMO-0001"}).json()
    print(f"  police acknowledged: receipt {acked.get('receipt_id')} ({acked.get('status')})")
    ok = acked.get("status") == DeliveryStatus.ACKNOWLEDGED.value
    return ("saferet: 112 webhook + receipt", f"signed, acknowledged ({acked.get('receipt_id')})" if ok else "NO RECEIPT")


def run(platform: LocalPlatform, tokens: dict[str, str], resources: Resources) -> list[tuple[str, str]]:
    api = platform.api_url
    alice = session_from(token=tokens["app-alice"])
    operator = session_from(token=tokens["operator-1"])
    sms_queue = capture_topic(resources, "guardian-sms", "demo-guardian-sms")
    # police 112's receiving system, on loopback: the dispatch reaches it signed, and police acknowledge it
    receiver = AgencyReceiver("")
    receiver.secret = build_safe_return(resources).agencies.register(
        AgencyTarget.POLICE, receiver.url, principal_id="police-112", cidr="127.0.0.2/32").secret
    rows: list[tuple[str, str]] = []

    _section("Safe return: a walk home from City Hall")
    device = alice.post(f"{api}/v1/devices", json={
        "platform": "android", "label": "Alice's phone",
        "guardians": [{"name": "Mom", "phone": "+821012345678", "relation": "mother"}]}).json()
    trip = alice.post(f"{api}/v1/trips", headers={"Idempotency-Key": "demo-walk-1"}, json={
        "device_id": device["device_id"], "origin": {"lat": CITY_HALL[0], "lon": CITY_HALL[1]},
        "destination": {"lat": GWANGHWAMUN[0], "lon": GWANGHWAMUN[1]},
        "route": points_api(HOME_ROUTE)}).json()
    started_at = datetime.fromisoformat(trip["started_at"])
    eta_min = (datetime.fromisoformat(trip["expected_arrival_at"]) - started_at).total_seconds() / 60
    print(f"  trip {trip['trip_id']}: {trip['route_length_m']:.0f} m up Sejong-daero, expected in {eta_min:.0f} min")

    # The track turns east into side streets after 400 m (time-compressed so the demo takes seconds).
    turn = along(HOME_ROUTE, 400)
    track = walk([CITY_HALL, HOME_ROUTE[1], turn, offset(turn, 0, 400)], start_ms=epoch_ms(started_at), seconds=110,
                 every_s=2, speed_mps=6.0)
    alert_ids: list[str] = []
    for i in range(0, len(track), 10):
        reply = alice.post(f"{api}/v1/trips/{trip['trip_id']}/positions",
                           json={"positions": as_api(as_uploaded(track[i:i + 10], seed=i))})
        alert_ids += reply.json().get("alerts", [])
    print(f"  {len(track)} GPS fixes uploaded in shuffled batches with repeats → alerts: {alert_ids or 'none'}")
    alerts = operator.get(f"{api}/v1/alerts", params={"status": "open"}).json()["alerts"]
    alert = next((a for a in alerts if a["alert_id"] in alert_ids), None)
    if alert:
        pos = alert["last_position"]["location"]
        print(f"  control center: {alert['kind']} — {alert['reason']}")
        print(f"    last position {pos['lat']:.5f}, {pos['lon']:.5f} (±{pos['accuracy_m']:.0f} m)")
        print(f"    nearest cameras: {_cameras(alert['cameras'][:5])}")
        acked = operator.post(f"{api}/v1/alerts/{alert['alert_id']}/ack").json()
        print(f"  operator-1 called Alice back and acknowledged the alert ({acked['status']})")
    alice.post(f"{api}/v1/trips/{trip['trip_id']}/arrive")
    rows.append(("saferet: deviation alert", f"{alert['kind']} with {len(alert['cameras'])} cameras" if alert else "NONE"))

    _section(f"SOS near City Hall (cancel window {SOS_WINDOW_S} s, nobody cancels)")
    started = time.perf_counter()
    incident = alice.post(f"{api}/v1/sos", headers={"Idempotency-Key": "demo-sos-1"}, json={
        "location": {"lat": 37.56655, "lon": 126.97795, "accuracy_m": 8}, "trigger": "button", "device_id": device["device_id"],
        "cancel_window_s": SOS_WINDOW_S}).json()
    answered_ms = (time.perf_counter() - started) * 1000
    print(f"  answered in {answered_ms:.0f} ms: {incident['incident_id']} {incident['status']}, cancel until "
          f"{incident['cancel_deadline_at']} (created {incident['created_at']})")
    print(f"  5 nearest cameras: {_cameras(incident['cameras'])}")
    dispatch = _wait_for_dispatch(resources, incident["incident_id"])
    if dispatch:
        waited = time.perf_counter() - started
        print(f"  112 dispatch message after {waited:.1f} s (no call needed: delayed message → event pump):")
        loc = dispatch["location"]
        print(f"    incident {dispatch['incident_id']} kind={dispatch['kind']} at {loc['lat']:.5f}, {loc['lon']:.5f} "
              f"(±{loc['accuracy_m']:.0f} m), reported by {dispatch['caller_principal']}")
        print(f"    cameras: {', '.join(c['camera']['camera_id'] for c in dispatch['cameras'])}")
    late = alice.post(f"{api}/v1/sos/{incident['incident_id']}/cancel")
    print(f"  a cancel after the window: {late.status_code} {late.json().get('error', {}).get('message', '')}")
    rows.append(_agency_receipt(api, tokens, receiver, incident["incident_id"]))
    receiver.stop()
    rows.append(("saferet: SOS → 112", f"dispatched after {time.perf_counter() - started:.1f} s with "
                 f"{len(dispatch['cameras'])} cameras" if dispatch else "NOT DISPATCHED"))

    _section("Protected person: a safe zone around home")
    home = offset(CITY_HALL, 400, 500)
    created = alice.post(f"{api}/v1/protected", json={
        "name": "Grandpa Kim", "kind": "dementia", "description": "grey coat, walks with a cane",
        "zones": [{"name": "home", "center": {"lat": home[0], "lon": home[1]}, "radius_m": 150}]}).json()
    person = created["person"]
    print(f"  {person['person_id']} registered; photo upload to {created['photo_upload']['key']} "
          f"(≤ {created['photo_upload']['max_bytes'] // 1_000_000} MB)")
    now_ms = int(time.time() * 1000)
    wander = walk([home, offset(home, -600, 200)], start_ms=now_ms - 500_000, seconds=490, every_s=10)
    exits = alice.post(f"{api}/v1/protected/{person['person_id']}/positions",
                       json={"positions": as_api(as_uploaded(wander))}).json()["alerts"]
    exit_ids = {a["alert_id"] for a in exits}
    for exit_alert in [a for a in operator.get(f"{api}/v1/alerts").json()["alerts"] if a["alert_id"] in exit_ids]:
        seed = exit_alert["search"]
        seen = seed["last_seen"]["location"]
        print(f"  control center: {exit_alert['reason']}")
        print(f"    search seed: {seed['name']} ({seed['description']}), last seen "
              f"{seen['lat']:.5f}, {seen['lon']:.5f} at {seed['last_seen']['at']}")
        print(f"    nearest cameras: {_cameras(exit_alert['cameras'][:5])}")
    rows.append(("saferet: safe-zone exit", f"{len(exits)} alert(s) with a search seed"))

    _section("Guardian SMS (captured from the guardian-sms topic)")
    messages = drain(resources, sms_queue, wait_s=1)
    for message in messages:
        print(f"  to {message['guardian']} {message['phone']}: [{message['kind']}] {message['text']}")
    rows.append(("saferet: guardian SMS", str(len(messages))))
    return rows
