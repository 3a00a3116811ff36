"""`make serve` keeps its state across a restart, clean (Ctrl-C) or `kill -9`, and leaves no orphan behind."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from agency_support import dispatch_payloads
from serve_support import ROOT, against, alive, serve  # noqa: F401 - against is a fixture

from chalicelib.adapters.resources import Resources
from chalicelib.cli import create_principal
from chalicelib.models.camera import Camera, CameraKind
from chalicelib.models.principal import PrincipalKind
from chalicelib.services.cameras import CameraRegistry
from chalicelib.settings import get_settings
from local.gps_tracks import CITY_HALL, GWANGHWAMUN, HOME_ROUTE, as_api, as_uploaded, points_api, walk
from local.http_client import session_from

pytestmark = pytest.mark.e2e
HERE = {"lat": CITY_HALL[0], "lon": CITY_HALL[1]}


def write_everything(api: str, resources: Resources) -> dict[str, Any]:
    """Principals, cameras, a device, a trip with positions, an X-ray study and an SOS inside its window."""
    _, app_token = create_principal(PrincipalKind.APP, "restart-app", principal_id="restart-app", resources=resources)
    _, center_token = create_principal(PrincipalKind.HEALTH_CENTER, "restart-hc", principal_id="restart-hc",
                                       resources=resources)
    _, operator_token = create_principal(PrincipalKind.OPERATOR, "restart-op", principal_id="restart-op",
                                         resources=resources)
    CameraRegistry(resources.table("cameras"), resources.store("media"),
                   index_key=get_settings().camera_index_key).load_catalog(
        [Camera(camera_id=f"RS-{i}", kind=CameraKind.CRIME_PREVENTION, district="Jung-gu",
                lat=CITY_HALL[0] + i * 0.001, lon=CITY_HALL[1]) for i in range(8)])
    phone = session_from(token=app_token)
    device = phone.post(f"{api}/v1/devices", json={"platform": "android",
                                                   "guardians": [{"name": "Mom", "phone": "+821055556666"}]})
    assert device.status_code == 201, device.text
    trip = phone.post(f"{api}/v1/trips", json={
        "device_id": device.json()["device_id"], "origin": HERE,
        "destination": {"lat": GWANGHWAMUN[0], "lon": GWANGHWAMUN[1]}, "route": points_api(HOME_ROUTE)})
    assert trip.status_code == 201, trip.text
    fixes = as_uploaded(walk(HOME_ROUTE, start_ms=int(time.time() * 1000), seconds=95))
    posted = phone.post(f"{api}/v1/trips/{trip.json()['trip_id']}/positions",
                        json={"positions": as_api(fixes)})
    assert posted.status_code in (200, 202), posted.text
    study = session_from(token=center_token).post(f"{api}/v1/xray/studies", json={"filename": "chest.png"})
    assert study.status_code == 201, study.text
    sos = phone.post(f"{api}/v1/sos", json={"location": HERE, "kind": "button", "cancel_window_s": 5})
    assert sos.status_code == 201, sos.text
    return {"tokens": {"app": app_token, "center": center_token, "operator": operator_token},
            "trip": phone.get(f"{api}/v1/trips/{trip.json()['trip_id']}").json(),
            "study_id": study.json()["study_id"], "incident_id": sos.json()["incident_id"]}


def dispatched_to_112(resources: Resources, incident_id: str, timeout_s: float = 60.0) -> list[dict[str, Any]]:
    return dispatch_payloads(resources, incident_id, timeout_s)


def survivors(pids: list[int], grace_s: float = 60.0) -> list[int]:
    """The processes still alive after a grace period (helpers such as multiprocessing's resource
    tracker end only once they see their parent's pipe close)."""
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and [pid for pid in pids if alive(pid)]:
        time.sleep(0.2)
    return [pid for pid in pids if alive(pid)]


@pytest.mark.parametrize("how", ["kill -9", "ctrl-c"])
def test_everything_acknowledged_before_a_restart_is_there_after_it(tmp_path: Path, against, how: str):  # noqa: F811
    # GIVEN a served platform holding principals, cameras, a trip with positions, a study and an SOS
    # whose cancel window is still open
    first = serve(tmp_path)
    try:
        before = write_everything(first.api_url, against(first))
    finally:
        # WHEN the platform stops at once: killed, or Ctrl-C
        if how == "kill -9":
            first.kill_hard()
        else:
            assert first.stop() == 0

    # THEN nothing it started survives it (the emulator follows its parent even after kill -9)
    assert first.children, "the platform started no child processes?"
    assert not survivors(first.children)

    # WHEN it starts again on the same state directory
    second = serve(tmp_path)
    try:
        resources = against(second)
        api, tokens = second.api_url, before["tokens"]
        # THEN the tokens still work and every record is there as it was
        trip = session_from(token=tokens["app"]).get(f"{api}/v1/trips/{before['trip']['trip_id']}")
        assert trip.status_code == 200, trip.text
        assert trip.json()["fixes"] == before["trip"]["fixes"] > 0
        assert trip.json()["last_fix"] == before["trip"]["last_fix"]
        study = session_from(token=tokens["center"]).get(f"{api}/v1/xray/studies/{before['study_id']}")
        assert study.status_code == 200, study.text
        # AND the SOS nobody cancelled still reaches 112, exactly once
        messages = dispatched_to_112(resources, before["incident_id"])
        assert len(messages) == 1
        incident = session_from(token=tokens["app"]).get(f"{api}/v1/sos/{before['incident_id']}").json()
        assert incident["status"] == "escalated"
        listed = session_from(token=tokens["operator"]).get(f"{api}/v1/incidents", params={"status": "escalated"})
        assert before["incident_id"] in [i["incident_id"] for i in listed.json()["incidents"]]
    finally:
        assert second.stop() == 0
    assert not survivors(second.children)


def test_a_second_platform_refuses_a_port_its_predecessor_still_holds(tmp_path: Path):
    # GIVEN a served platform on an emulator port
    first = serve(tmp_path / "a")
    try:
        port = first.aws_url.rsplit(":", 1)[1]
        # WHEN another start asks for the same emulator port
        second = subprocess.run(
            [sys.executable, "-m", "local", "serve", "--state-dir", str(tmp_path / "b"), "--aws-port", port,
             "--api-port", "0", "--edge-port", "0"], cwd=ROOT, capture_output=True, text=True, timeout=60)
        # THEN it refuses to start, naming the port, instead of running on the old emulator's state
        assert second.returncode != 0
        assert f"port {port}" in second.stdout + second.stderr
        assert requests.get(f"{first.api_url}/v1/openapi.json", timeout=10).status_code == 200
    finally:
        first.stop()
