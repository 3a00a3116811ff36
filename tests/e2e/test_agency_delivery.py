"""The last mile over the local platform: an SOS over HTTP reaches the agency's webhook on loopback through
the event pump (signed), and the agency acknowledges it over HTTP from its registered range."""

from __future__ import annotations

import io
import os
import time
from http import HTTPStatus
from typing import Any

import pytest
import requests
from agency_support import Receiver, start_receiver
from client_support import authenticated
from golden_time_api_client.api.dispatches import ack_dispatch
from golden_time_api_client.api.link_bundles import push_link_bundle
from golden_time_api_client.api.sos import hand_over_incident, list_incidents, report_sos, sos_evidence
from golden_time_api_client.models import AgencyTarget as Addressee
from golden_time_api_client.models import (
    DeliveryStatus,
    DispatchAck,
    EmergencyKind,
    EvidenceRequest,
    HandoverRequest,
    LinkBundleRequest,
    LinkMode,
    Location,
    SosRequest,
)
from PIL import Image

from chalicelib.adapters.resources import Resources
from chalicelib.cli import create_principal
from chalicelib.models.common import epoch_ms
from chalicelib.models.dispatch import AgencyTarget
from chalicelib.models.principal import PrincipalKind
from chalicelib.services.audit import AuditLog
from chalicelib.settings import get_settings
from chalicelib.wiring.saferet import build_safe_return
from functions.agency_dispatch import handler as delivery
from local.http_client import session_from

pytestmark = pytest.mark.e2e
LOTTE_WORLD_TOWER = {"lat": 37.5126, "lon": 127.1025}  # Songpa-gu


@pytest.fixture(scope="module")
def world(local_platform):
    resources = Resources(get_settings())
    _, phone = create_principal(PrincipalKind.APP, "ad-phone", principal_id="ad-phone", resources=resources)
    _, fire = create_principal(PrincipalKind.AGENCY, "Seoul fire 119", principal_id="ad-fire-119",
                               cidrs=("127.0.0.2/32",), attributes={"agency_kind": "fire"}, resources=resources)
    _, operator = create_principal(PrincipalKind.OPERATOR, "Songpa operator", principal_id="ad-operator",
                                   attributes={"district": "SP"}, resources=resources)
    receiver = start_receiver()
    receiver.secret = build_safe_return(resources).agencies.register(
        AgencyTarget.FIRE, receiver.url, principal_id="ad-fire-119", cidr="127.0.0.2/32").secret
    yield {"api": local_platform.api_url, "phone": phone, "fire": fire, "operator": operator, "receiver": receiver}
    assert receiver.server is not None
    receiver.server.shutdown()


def wait_for(receiver: Receiver, dispatch_id: str, timeout_s: float = 15.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = [r for r in receiver.received if r["dispatch_id"] == dispatch_id]
        if found:
            first: dict[str, Any] = found[0]
            return first
        time.sleep(0.02)
    raise AssertionError(f"{dispatch_id} never reached the webhook")


def as_(world, who, source="127.0.0.1"):
    """The generated client (tests/client_support.py), as ``who`` calling from ``source``."""
    return authenticated(world["api"], world[who], source)


def sos(world, kind: EmergencyKind, cancel_window_s: int):
    reply = report_sos.sync_detailed(client=as_(world, "phone"), body=SosRequest(
        location=Location.from_dict(LOTTE_WORLD_TOWER), kind=kind, cancel_window_s=cancel_window_s))
    assert reply.status_code == HTTPStatus.CREATED, reply.content
    return reply.parsed


def test_a_medical_sos_reaches_119_signed_and_is_acknowledged(world):
    incident = sos(world, EmergencyKind.MEDICAL, 0)
    assert incident.agency == "119" and incident.district.code == "SP"
    # THEN 119's webhook receives it (its own verifier accepted the signature)
    got = wait_for(world["receiver"], incident.incident_id)
    assert got["body"]["kind"] == "medical" and world["receiver"].bad_signatures == 0
    assert "응급환자" in got["body"]["summary"] and "송파구" in got["body"]["summary"]
    # WHEN 119 acknowledges from its registered address
    ack = ack_dispatch.sync_detailed(incident.incident_id, client=as_(world, "fire", "127.0.0.2"),
                                     body=DispatchAck(receipt_id="SFS-2026-55120", officer_id="park-77"))
    assert ack.status_code == HTTPStatus.OK, ack.content
    assert ack.parsed.status == DeliveryStatus.ACKNOWLEDGED and ack.parsed.receipt_id == "SFS-2026-55120"
    # AND from anywhere else it is refused
    refused = ack_dispatch.sync_detailed(incident.incident_id, client=as_(world, "fire", "127.0.0.3"),
                                         body=DispatchAck(receipt_id="SFS-2026-55120"))
    assert refused.status_code == HTTPStatus.FORBIDDEN
    # AND the Songpa operator sees it, their district first, and can filter by district
    operator = as_(world, "operator")
    mine = list_incidents.sync(client=operator, district="SP").incidents
    assert incident.incident_id in [i.incident_id for i in mine]
    assert all(i.district.code == "SP" for i in mine)
    listed = list_incidents.sync(client=operator).incidents
    codes = [i.control_center for i in listed]
    assert codes[0] == "SP" and codes == sorted(codes, key=lambda c: c != "SP")
    # WHEN the Songpa operator hands it over to Gangdong THEN Gangdong's list has it, Songpa's no longer
    handed = hand_over_incident.sync_detailed(incident.incident_id, client=operator, body=HandoverRequest(
        district="GD", from_district="SP", reason="caller moved to Gangdong"))
    assert handed.status_code == HTTPStatus.OK, handed.content
    assert handed.parsed.control_center == "GD" and handed.parsed.district.code == "SP"

    def ids(district: str) -> list[str]:
        return [i.incident_id for i in list_incidents.sync(client=operator, district=district).incidents]

    assert incident.incident_id in ids("GD") and incident.incident_id not in ids("SP")
    bad = hand_over_incident.sync_detailed(incident.incident_id, client=operator,
                                           body=HandoverRequest(district="XX", reason="test"))
    assert bad.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    # AND a second hand-over from what Songpa saw before is refused: it is Gangdong's now
    stale = hand_over_incident.sync_detailed(incident.incident_id, client=operator, body=HandoverRequest(
        district="JN", from_district="SP", reason="stale view"))
    assert stale.status_code == HTTPStatus.CONFLICT and "GD" in stale.parsed.error.message


def test_evidence_the_phone_uploaded_reaches_119_as_links_that_open_only_from_its_range(world):
    # GIVEN a fire SOS with a short cancel window, and a photo the phone uploads inside it
    incident = sos(world, EmergencyKind.FIRE, 3)
    grant = sos_evidence.sync_detailed(incident.incident_id, client=as_(world, "phone"),
                                       body=EvidenceRequest(content_type="image/jpeg"))
    assert grant.status_code == HTTPStatus.CREATED, grant.content
    upload = grant.parsed
    jpeg = io.BytesIO()
    Image.new("RGB", (32, 32), (200, 30, 30)).save(jpeg, format="JPEG")
    # the presigned POST goes to S3: not our API
    posted = requests.post(upload.url, data=upload.fields.to_dict(), files={"file": ("e.jpg", jpeg.getvalue())},
                           timeout=10)
    assert posted.status_code in (200, 204), posted.text
    # WHEN the window closes and the dispatch reaches 119
    got = wait_for(world["receiver"], incident.incident_id)
    # THEN it carries one signed link per evidence object
    [link] = got["body"]["evidence"]
    assert link["key"] == upload.key
    # AND the link opens from 119's registered range, and from nowhere else (signed links, not our API)
    opened = session_from("127.0.0.2").get(link["url"], timeout=10)
    assert opened.status_code == 200, opened.text
    assert opened.status_code == 200 and opened.content == jpeg.getvalue()
    assert session_from("127.0.0.3").get(link["url"], timeout=10).status_code == 403


def test_an_operator_pushes_a_link_bundle_to_119_audited_and_delivered(world):
    # GIVEN an SOS the Songpa operator is handling
    incident = sos(world, EmergencyKind.FIRE, 0)
    operator = as_(world, "operator")
    # WHEN they push live video to 119 without a purpose THEN it is refused (raw HTTP: the typed request
    # requires a purpose)
    bundles = f"{world['api']}/v1/incidents/{incident.incident_id}/link-bundles"
    assert session_from(token=world["operator"]).post(bundles, json={"agency": "119", "mode": "live"}).status_code \
        == 422
    # WHEN they push it with a purpose
    pushed = push_link_bundle.sync_detailed(incident.incident_id, client=operator, body=LinkBundleRequest(
        agency=Addressee("119"), mode=LinkMode.LIVE, purpose="FIRE-RESPONSE"))
    assert pushed.status_code == HTTPStatus.CREATED, pushed.content
    grant = pushed.parsed
    # THEN the links are issued to 119 and bound to its range, as if 119 had asked
    assert grant.agency_id == "ad-fire-119" and grant.source_cidr == "127.0.0.2/32"
    assert grant.purpose == "FIRE-RESPONSE" and grant.officer_id == "ad-operator"
    # AND the push is audited with the operator as actor
    audit = AuditLog(Resources(get_settings()).table("audit"))
    since_ms = epoch_ms(incident.created_at) - 1000
    pushes = [r for r in audit.records(since_ms=since_ms) if r.action == "video-link.pushed"]
    assert [(r.actor, r.subject) for r in pushes] == [("ad-operator", grant.request_id)]
    # AND 119's webhook receives the bundle, signed, as a dispatch of its own
    got = wait_for(world["receiver"], f"{incident.incident_id}.{grant.request_id}")
    assert got["body"]["request_id"] == grant.request_id and len(got["body"]["links"]) == len(grant.links)


def test_the_platform_set_aside_for_a_test_beside_it_delivers_nothing_then_resumes_cold(world, local_platform):
    # GIVEN the platform set aside, as every test that does not use it sets it aside (tests/conftest.py)
    with local_platform.paused():
        # WHEN a dispatch for 119 is queued meanwhile
        incident_id = sos(world, EmergencyKind.FIRE, 0).incident_id
        # THEN no handler runs it while set aside
        time.sleep(2.0)  # the pump polls every second
        assert incident_id not in [r["dispatch_id"] for r in world["receiver"].received]
        # AND the code beside it may leave the consumer's runtime cached, and another environment
        cached = delivery.runtime()
        os.environ["STAGE"] = "beside"
    # WHEN the platform resumes THEN its environment is back, the consumer starts cold (as a new container
    # would), and the dispatch queued meanwhile reaches 119
    assert os.environ["STAGE"] == local_platform.config.stage
    assert delivery.runtime() is not cached
    assert wait_for(world["receiver"], incident_id)["body"]["kind"] == "fire"
