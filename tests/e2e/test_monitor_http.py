"""Selective monitoring on the local platform: rules set over HTTP, a clip uploaded under
monitor/<camera>/ travels S3 → SQS → the event pump → the monitor worker, and the operator works
the queue over HTTP (list, ack, resolve); other principals are refused, bad input is a 4xx."""

from __future__ import annotations

import time
from datetime import datetime

import pytest
import requests
from monitor_support import MISSING_FOOTAGE, VTEST, YOLOX, clip_bytes, lawn_rules

from chalicelib.adapters.resources import Resources
from chalicelib.cli import create_principal
from chalicelib.models.camera import Camera, CameraKind
from chalicelib.models.common import epoch_ms
from chalicelib.models.principal import PrincipalKind
from chalicelib.services.cameras import CameraRegistry
from chalicelib.services.selective_monitor.media import sample_clip
from chalicelib.settings import get_settings
from local.http_client import session_from

pytestmark = [pytest.mark.e2e, pytest.mark.shared,
              pytest.mark.skipif(not (VTEST.is_file() and YOLOX.is_file()), reason=MISSING_FOOTAGE)]
CAMERA = "E2E-3"  # one of the cameras every end-to-end module loads


@pytest.fixture(scope="module")
def world(local_platform):
    resources = Resources(get_settings())
    tokens = {}
    for kind, pid in ((PrincipalKind.OPERATOR, "mon-operator"), (PrincipalKind.APP, "mon-app"),
                      (PrincipalKind.ADMIN, "mon-admin")):
        _, tokens[pid] = create_principal(kind, pid, principal_id=pid, resources=resources)
    cameras = [Camera(camera_id=f"E2E-{i}", kind=CameraKind.CRIME_PREVENTION, district="Jung-gu",
                      lat=37.5665 + i * 0.001, lon=126.9780) for i in range(8)]
    CameraRegistry(resources.table("cameras"), resources.store("media"),
                   index_key=get_settings().camera_index_key).load_catalog(cameras)
    return {"resources": resources, "tokens": tokens, "api": local_platform.api_url}


def as_(world, who):
    return session_from(token=world["tokens"][who])


def wait_for_events(world, camera_id, timeout_s=90.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        reply = as_(world, "mon-operator").get(f"{world['api']}/v1/monitor/events", params={"camera_id": camera_id})
        assert reply.status_code == 200, reply.text
        if reply.json()["events"]:
            return reply.json()["events"]
        time.sleep(0.5)
    raise AssertionError(f"no monitor event for {camera_id} within {timeout_s} s")


def test_a_clip_uploaded_for_a_camera_reaches_the_operator_queue(world):
    api = world["api"]
    # GIVEN the lawn rules set on the camera by an admin over HTTP
    reply = as_(world, "mon-admin").put(f"{api}/v1/monitor/cameras/{CAMERA}/rules", json=lawn_rules())
    assert reply.status_code == 200, reply.text
    assert as_(world, "mon-operator").get(f"{api}/v1/monitor/cameras/{CAMERA}/rules").json()["rules"][0]["rule_id"] == "lawn"

    # WHEN the camera gateway uploads a 7 s clip of the couple walking onto the lawn
    start_ms = time.time_ns() // 1_000_000 - 60_000
    world["resources"].store("media").put(f"monitor/{CAMERA}/{start_ms}-clip.mp4", clip_bytes(490, 560))

    # THEN the pump runs the monitor and the operator sees one zone-intrusion event with a snapshot link
    views = wait_for_events(world, CAMERA)
    assert [(v["event"]["rule_id"], v["event"]["status"]) for v in views] == [("lawn", "open")]
    event = views[0]["event"]
    assert start_ms + 1000 <= epoch_ms(datetime.fromisoformat(event["at"])) <= start_ms + 3000
    assert event["event_id"].startswith("mon-") and "snapshot_key" not in event and "source_key" not in event
    assert views[0]["snapshot_url"]
    # AND a signed link to the clip of the moment: an MP4 of the seconds around it
    clip = requests.get(views[0]["clip_url"], timeout=30)
    assert clip.status_code == 200, clip.text
    assert 20 <= len(list(sample_clip(clip.content, fps=10))) <= 81

    # AND the operator acknowledges, then resolves it with a note; it leaves the queue
    ack = as_(world, "mon-operator").post(f"{api}/v1/monitor/events/{event['event_id']}/ack")
    assert ack.status_code == 200 and ack.json()["status"] == "acknowledged"
    done = as_(world, "mon-operator").post(f"{api}/v1/monitor/events/{event['event_id']}/resolve",
                                           json={"note": "two walkers, moved on"})
    assert done.status_code == 200 and done.json()["note"] == "two walkers, moved on"
    left = as_(world, "mon-operator").get(f"{api}/v1/monitor/events", params={"camera_id": CAMERA}).json()
    assert left["events"] == []
    resolved = as_(world, "mon-operator").get(f"{api}/v1/monitor/events",
                                              params={"camera_id": CAMERA, "status": "resolved"}).json()
    assert [v["event"]["resolved_by"] for v in resolved["events"]] == ["mon-operator"]
    again = as_(world, "mon-operator").post(f"{api}/v1/monitor/events/{event['event_id']}/ack")
    assert again.status_code == 409


def test_the_queue_is_for_operators_and_bad_input_is_a_4xx(world):
    api = world["api"]
    assert as_(world, "mon-app").get(f"{api}/v1/monitor/events").status_code == 403
    assert session_from(token=None).get(f"{api}/v1/monitor/events").status_code == 401
    operator = as_(world, "mon-operator")
    assert operator.get(f"{api}/v1/monitor/events", params={"limit": "0"}).status_code == 422
    assert operator.get(f"{api}/v1/monitor/events", params={"status": "bogus"}).status_code == 422
    assert operator.post(f"{api}/v1/monitor/events/mon-E2E-3.1.nope/ack").status_code == 404
    bad_zone = {"rules": [{"kind": "zone_intrusion", "rule_id": "gate", "zone": [[0, 0], [2, 0], [1, 1]]}]}
    assert operator.put(f"{api}/v1/monitor/cameras/{CAMERA}/rules", json=bad_zone).status_code == 422
    unknown = {"rules": [], "colour": "red"}
    assert operator.put(f"{api}/v1/monitor/cameras/{CAMERA}/rules", json=unknown).status_code == 422
    assert operator.put(f"{api}/v1/monitor/cameras/NO-SUCH-CAM/rules", json={"rules": []}).status_code == 404
    assert operator.get(f"{api}/v1/monitor/cameras/E2E-1/rules").status_code == 404
