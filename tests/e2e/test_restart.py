"""`make serve` keeps its state across a restart, clean (Ctrl-C) or `kill -9`, and leaves no orphan behind."""

from __future__ import annotations

import subprocess
import sys
import time
from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest
from agency_support import dispatch_payloads
from client_support import anonymous, authenticated
from golden_time_api_client.api.devices import register_device
from golden_time_api_client.api.docs import get_openapi_document
from golden_time_api_client.api.sos import get_sos, list_incidents, report_sos
from golden_time_api_client.api.trips import add_positions, get_trip, start_trip
from golden_time_api_client.api.xray import create_study, get_study
from golden_time_api_client.models import (
    DeviceRegistration,
    GuardianContact,
    IncidentStatus,
    ListIncidentsStatusType0,
    Location,
    Position,
    PositionReport,
    SosRequest,
    SosTrigger,
    StudyCreate,
    TripStart,
)
from serve_support import ROOT, against, alive, serve  # noqa: F401 - against is a fixture

from chalicelib.adapters.resources import Resources
from chalicelib.cli import create_principal
from chalicelib.models.camera import Camera, CameraKind
from chalicelib.models.principal import PrincipalKind
from chalicelib.services.cameras import CameraRegistry
from chalicelib.settings import get_settings
from local.gps_tracks import CITY_HALL, GWANGHWAMUN, HOME_ROUTE, as_api, as_uploaded, points_api, walk

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
    phone = authenticated(api, app_token)
    device = register_device.sync_detailed(client=phone, body=DeviceRegistration(
        platform="android", guardians=[GuardianContact(name="Mom", phone="+821055556666")]))
    assert device.status_code == HTTPStatus.CREATED, device.content
    trip = start_trip.sync_detailed(client=phone, body=TripStart(
        device_id=device.parsed.device_id, origin=Location.from_dict(HERE),
        destination=Location(lat=GWANGHWAMUN[0], lon=GWANGHWAMUN[1]),
        route=[Location.from_dict(point) for point in points_api(HOME_ROUTE)]))
    assert trip.status_code == HTTPStatus.CREATED, trip.content
    fixes = as_uploaded(walk(HOME_ROUTE, start_ms=int(time.time() * 1000), seconds=95))
    posted = add_positions.sync_detailed(trip.parsed.trip_id, client=phone, body=PositionReport(
        positions=[Position.from_dict(fix) for fix in as_api(fixes)]))
    assert posted.status_code == HTTPStatus.OK, posted.content
    study = create_study.sync_detailed(client=authenticated(api, center_token), body=StudyCreate(filename="chest.png"))
    assert study.status_code == HTTPStatus.CREATED, study.content
    sos = report_sos.sync_detailed(client=phone, body=SosRequest(location=Location.from_dict(HERE),
                                                                 trigger=SosTrigger.BUTTON, cancel_window_s=5))
    assert sos.status_code == HTTPStatus.CREATED, sos.content
    return {"tokens": {"app": app_token, "center": center_token, "operator": operator_token},
            "trip": get_trip.sync(trip.parsed.trip_id, client=phone),
            "study_id": study.parsed.study_id, "incident_id": sos.parsed.incident_id}


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
        phone = authenticated(api, tokens["app"])
        trip = get_trip.sync_detailed(before["trip"].trip_id, client=phone)
        assert trip.status_code == HTTPStatus.OK, trip.content
        assert trip.parsed.fixes == before["trip"].fixes > 0
        assert trip.parsed.last_fix.to_dict() == before["trip"].last_fix.to_dict()
        study = get_study.sync_detailed(before["study_id"], client=authenticated(api, tokens["center"]))
        assert study.status_code == HTTPStatus.OK, study.content
        # AND the SOS nobody cancelled still reaches 112, exactly once
        messages = dispatched_to_112(resources, before["incident_id"])
        assert len(messages) == 1
        incident = get_sos.sync(before["incident_id"], client=phone)
        assert incident.status == IncidentStatus.ESCALATED
        listed = list_incidents.sync(client=authenticated(api, tokens["operator"]),
                                     status=ListIncidentsStatusType0.ESCALATED)
        assert before["incident_id"] in [i.incident_id for i in listed.incidents]
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
        assert get_openapi_document.sync_detailed(client=anonymous(first.api_url)).status_code == HTTPStatus.OK
    finally:
        first.stop()
