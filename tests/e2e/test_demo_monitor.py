"""The selective-monitoring demo step on the local platform, on cameras of the end-to-end catalog."""

from __future__ import annotations

import pytest
from monitor_support import MISSING_FOOTAGE, VTEST, YOLOX

from chalicelib.adapters.resources import Resources
from chalicelib.cli import create_principal
from chalicelib.models.camera import Camera, CameraKind
from chalicelib.models.principal import PrincipalKind
from chalicelib.services.cameras import CameraRegistry
from chalicelib.settings import get_settings
from local import demo_monitor

pytestmark = [pytest.mark.e2e, pytest.mark.shared,
              pytest.mark.skipif(not (VTEST.is_file() and YOLOX.is_file()), reason=MISSING_FOOTAGE)]


def test_demo_step_fires_the_zone_rule_on_one_camera_and_prints_the_queue(local_platform, capsys):
    # GIVEN the platform, an admin and an operator, and the end-to-end cameras
    resources = Resources(get_settings())
    tokens = {"admin-1": create_principal(PrincipalKind.ADMIN, "demo admin", principal_id="mon-demo-admin",
                                          resources=resources)[1],
              "operator-1": create_principal(PrincipalKind.OPERATOR, "demo operator", principal_id="mon-demo-op",
                                             resources=resources)[1]}
    CameraRegistry(resources.table("cameras"), resources.store("media"),
                   index_key=get_settings().camera_index_key).load_catalog(
        [Camera(camera_id=f"E2E-{i}", kind=CameraKind.CRIME_PREVENTION, district="Jung-gu",
                lat=37.5665 + i * 0.001, lon=126.9780) for i in range(8)])
    # the demo's three cameras, mapped onto E2E-5..7 (same rules, same clips)
    cameras = {f"E2E-{5 + i}": spec for i, spec in enumerate(demo_monitor.CAMERAS.values())}

    # WHEN the demo step runs
    rows = dict(demo_monitor.run(local_platform, tokens, resources, cameras=cameras))

    # THEN the lawn camera's zone rule fired, the quiet cameras stayed quiet, and the queue was printed
    assert rows["monitor events queued"] == "1 (E2E-5)"
    assert rows["monitor clips analysed"].startswith("3 cameras, 72 frames")
    assert "cameras per operator" in rows["monitor surfaced share"]
    out = capsys.readouterr().out
    assert "E2E-5" in out and "entered zone lawn" in out and "acknowledged" in out
