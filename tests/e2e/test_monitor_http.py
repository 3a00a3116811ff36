"""Selective monitoring on the local platform: rules set over HTTP, a clip uploaded under
monitor/<camera>/ travels S3 → SQS → the event pump → the monitor worker, and the operator works
the queue over HTTP (list, ack, resolve); other principals are refused, bad input is a 4xx."""

from __future__ import annotations

import time
from http import HTTPStatus

import pytest
import requests
from client_support import anonymous, authenticated
from golden_time_api_client.api.selective_monitor import (
    ack_monitor_event,
    get_camera_rules,
    list_monitor_events,
    put_camera_rules,
    resolve_monitor_event,
)
from golden_time_api_client.models import CameraRules, Error, EventStatus, ListMonitorEventsStatusType0, ResolveBody
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
    """The generated client (tests/client_support.py), as ``who``."""
    return authenticated(world["api"], world["tokens"][who])


def raw(world, who):
    """Raw HTTP, for input the typed client cannot express (a value outside an enum, an unknown field)."""
    return session_from(token=world["tokens"][who])


def wait_for_events(world, camera_id, timeout_s=90.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        reply = list_monitor_events.sync_detailed(client=as_(world, "mon-operator"), camera_id=camera_id)
        assert reply.status_code == HTTPStatus.OK, reply.content
        if reply.parsed.events:
            return reply.parsed.events
        time.sleep(0.5)
    raise AssertionError(f"no monitor event for {camera_id} within {timeout_s} s")


def test_a_clip_uploaded_for_a_camera_reaches_the_operator_queue(world):
    operator = as_(world, "mon-operator")
    # GIVEN the lawn rules set on the camera by an admin over HTTP
    reply = put_camera_rules.sync_detailed(CAMERA, client=as_(world, "mon-admin"), body=CameraRules.from_dict(lawn_rules()))
    assert reply.status_code == HTTPStatus.OK, reply.content
    assert get_camera_rules.sync(CAMERA, client=operator).rules[0].rule_id == "lawn"

    # WHEN the camera gateway uploads a 7 s clip of the couple walking onto the lawn
    start_ms = time.time_ns() // 1_000_000 - 60_000
    world["resources"].store("media").put(f"monitor/{CAMERA}/{start_ms}-clip.mp4", clip_bytes(490, 560))

    # THEN the pump runs the monitor and the operator sees one zone-intrusion event with a snapshot link
    views = wait_for_events(world, CAMERA)
    assert [(v.event.rule_id, v.event.status) for v in views] == [("lawn", EventStatus.OPEN)]
    event = views[0].event
    assert start_ms + 1000 <= epoch_ms(event.at) <= start_ms + 3000
    assert event.event_id.startswith("mon-")
    listed = list_monitor_events.sync_detailed(client=operator, camera_id=CAMERA)
    assert b"snapshot_key" not in listed.content and b"source_key" not in listed.content  # the keys stay inside
    assert views[0].snapshot_url
    # AND a signed link to the clip of the moment: an MP4 of the seconds around it (the media edge: not our API)
    clip = requests.get(views[0].clip_url, timeout=30)
    assert clip.status_code == 200, clip.text
    assert 20 <= len(list(sample_clip(clip.content, fps=10))) <= 81

    # AND the operator acknowledges, then resolves it with a note; it leaves the queue
    ack = ack_monitor_event.sync_detailed(event.event_id, client=operator)
    assert ack.status_code == HTTPStatus.OK and ack.parsed.status == EventStatus.ACKNOWLEDGED
    done = resolve_monitor_event.sync_detailed(event.event_id, client=operator,
                                               body=ResolveBody(note="two walkers, moved on"))
    assert done.status_code == HTTPStatus.OK and done.parsed.note == "two walkers, moved on"
    assert list_monitor_events.sync(client=operator, camera_id=CAMERA).events == []
    resolved = list_monitor_events.sync(client=operator, camera_id=CAMERA, status=ListMonitorEventsStatusType0.RESOLVED)
    assert [v.event.resolved_by for v in resolved.events] == ["mon-operator"]
    again = ack_monitor_event.sync_detailed(event.event_id, client=operator)
    assert again.status_code == HTTPStatus.CONFLICT and isinstance(again.parsed, Error)


def test_the_queue_is_for_operators_and_bad_input_is_a_4xx(world):
    api = world["api"]
    assert list_monitor_events.sync_detailed(client=as_(world, "mon-app")).status_code == HTTPStatus.FORBIDDEN
    assert list_monitor_events.sync_detailed(client=anonymous(api)).status_code == HTTPStatus.UNAUTHORIZED
    operator = as_(world, "mon-operator")
    assert list_monitor_events.sync_detailed(client=operator, limit=0).status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    # a status outside the enum: the typed client cannot send it
    assert raw(world, "mon-operator").get(f"{api}/v1/monitor/events", params={"status": "bogus"}).status_code == 422
    missing = ack_monitor_event.sync_detailed("mon-E2E-3.1.nope", client=operator)
    assert missing.status_code == HTTPStatus.NOT_FOUND and missing.parsed.error.code == "not_found"
    bad_zone = CameraRules.from_dict({"rules": [{"kind": "zone_intrusion", "rule_id": "gate",
                                                 "zone": [[0, 0], [2, 0], [1, 1]]}]})
    assert put_camera_rules.sync_detailed(CAMERA, client=operator, body=bad_zone).status_code == \
        HTTPStatus.UNPROCESSABLE_ENTITY
    # an unknown field: the typed model has no place for it
    unknown = {"rules": [], "colour": "red"}
    assert raw(world, "mon-operator").put(f"{api}/v1/monitor/cameras/{CAMERA}/rules", json=unknown).status_code == 422
    assert put_camera_rules.sync_detailed("NO-SUCH-CAM", client=operator, body=CameraRules(rules=[])).status_code == \
        HTTPStatus.NOT_FOUND
    assert get_camera_rules.sync_detailed("E2E-1", client=operator).status_code == HTTPStatus.NOT_FOUND
