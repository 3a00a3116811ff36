"""Agency video links on the local platform over real HTTP: API from bound addresses, playback
through the signed media edge, revocation at the edge, cross-agency scoping, audit completeness."""

from __future__ import annotations

import io
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

import av
import pytest
from client_support import authenticated
from golden_time_api_client.api.video_links import close_incident, get_links, request_links, revoke_links
from golden_time_api_client.models import Error, LinkStatus, VideoLinkRequest

from chalicelib.adapters.resources import Resources
from chalicelib.adapters.signing_key import signer_from_settings
from chalicelib.api import context
from chalicelib.cli import create_principal
from chalicelib.models.camera import Camera, CameraKind
from chalicelib.models.principal import PrincipalKind
from chalicelib.models.video_link import AgencyKind, AgencyProfile, LinkMode
from chalicelib.services.audit import AuditLog
from chalicelib.services.cameras import CameraRegistry
from chalicelib.services.footage import FootageCatalog
from chalicelib.settings import get_settings
from chalicelib.video.segmenter import make_synthetic_video
from local.http_client import session_from

pytestmark = pytest.mark.e2e
SCENE = {"lat": 37.4979, "lon": 127.0276}  # Gangnam station, away from the other e2e cameras
WITH_FOOTAGE = [f"VL-E2E-{i}" for i in range(6)]
NO_FOOTAGE = "VL-E2E-DARK"  # the nearest camera of all, but it has recorded nothing


@pytest.fixture(scope="module")
def scene(local_platform, tmp_path_factory) -> Iterator[dict[str, Any]]:
    settings = get_settings()
    resources = Resources(settings)
    police_facts = AgencyProfile(kind=AgencyKind.POLICE, max_link_seconds=900).to_attributes()
    fire_facts = AgencyProfile(kind=AgencyKind.FIRE, max_link_seconds=300,
                               modes=frozenset({LinkMode.RECORDED})).to_attributes()
    tokens = {}
    for pid, facts in (("vl-police", police_facts), ("vl-fire", fire_facts)):
        _, tokens[pid] = create_principal(PrincipalKind.AGENCY, pid, principal_id=pid, cidrs=("127.0.0.2/32",),
                                          attributes=facts, resources=resources)
    cameras = [Camera(camera_id=NO_FOOTAGE, kind=CameraKind.CRIME_PREVENTION, district="Gangnam-gu",
                      lat=SCENE["lat"], lon=SCENE["lon"] + 0.00005)]
    cameras += [Camera(camera_id=cid, kind=CameraKind.CRIME_PREVENTION, district="Gangnam-gu",
                       lat=SCENE["lat"] + (i + 1) * 0.0004, lon=SCENE["lon"]) for i, cid in enumerate(WITH_FOOTAGE)]
    CameraRegistry(resources.table("cameras"), resources.store("media"),
                   index_key=settings.camera_index_key).load_catalog(cameras)
    context.reset_platform()  # the API (same process) rebuilds its registry and sees this snapshot at once
    try:
        video = make_synthetic_video(tmp_path_factory.mktemp("vl") / "scene.mp4", 25, 10, (160, 120))
    except (av.FFmpegError, ValueError) as exc:
        pytest.skip(f"PyAV cannot write a synthetic test video: {exc}")
    footage = FootageCatalog.from_settings(resources.store("footage"), resources.table("footage"), settings)
    recorded_from = int(time.time() * 1000) - 10 * 60_000
    for cid in WITH_FOOTAGE:
        footage.ingest(cid, video, start_ms=recorded_from)
    yield {"tokens": tokens, "resources": resources, "recorded_from": recorded_from, "video": video}
    context.reset_platform()  # nor may a later module's catalog be hidden behind this one's cached snapshot


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()


def _recorded_body(scene: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    t0 = scene["recorded_from"]
    return {"incident_number": "112-2026-000123", "location": SCENE, "mode": "recorded",
            "window": {"start": _iso(t0 + 2_000), "end": _iso(t0 + 22_000)},
            "purpose": "CRIME-INVESTIGATION", "officer_id": "officer-77", **overrides}


def _audit(scene: dict[str, Any], since_ms: int, action: str | None = None, subject: str | None = None,
           wait_for: int = 0) -> list[Any]:
    deadline = time.monotonic() + 5
    while True:
        found = [r for r in AuditLog(scene["resources"].table("audit")).records(since_ms=since_ms)
                 if (action is None or r.action == action) and (subject is None or r.subject == subject)]
        if len(found) >= wait_for or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def _agency(local_platform: Any, scene: dict[str, Any], who: str = "vl-police") -> Any:
    """The generated client (tests/client_support.py) as agency ``who``, from its registered 127.0.0.2."""
    return authenticated(local_platform.api_url, scene["tokens"][who], "127.0.0.2")


def _issue(local_platform: Any, scene: dict[str, Any], who: str = "vl-police", **overrides: Any) -> dict[str, Any]:
    reply = request_links.sync_detailed(client=_agency(local_platform, scene, who),
                                        body=VideoLinkRequest.from_dict(_recorded_body(scene, **overrides)))
    assert reply.status_code == HTTPStatus.OK, reply.content
    body: dict[str, Any] = reply.parsed.to_dict()
    return body


# Playlists and segments come from the media edge's signed URLs (not our API): raw HTTP from a chosen address.
def _uris(playlist: str) -> list[str]:
    return [line for line in playlist.splitlines() if line and not line.startswith("#")]


def test_agency_inside_its_range_gets_five_recorded_links(local_platform, scene):
    since = int(time.time() * 1000) - 1
    # GIVEN the police agency calling from its registered 127.0.0.2
    # WHEN it asks for recorded video of the scene
    body = _issue(local_platform, scene)

    # THEN it gets 5 links, nearest first, only from cameras with footage for the window
    links = body["links"]
    assert [link["camera_id"] for link in links] == WITH_FOOTAGE[:5]
    assert NO_FOOTAGE not in {link["camera_id"] for link in links}
    distances = [link["distance_m"] for link in links]
    assert distances == sorted(distances) and distances[0] > 30
    assert body["source_cidr"] == "127.0.0.2/32" and body["status"] == "active" and body["note"] is None
    expires = datetime.fromisoformat(body["expires_at"])
    assert timedelta(seconds=850) < expires - datetime.now(UTC) <= timedelta(seconds=900)  # the agency's maximum
    for link in links:
        assert link["mode"] == "recorded" and link["segments"] >= 2
        assert link["url"].startswith(f"{local_platform.edge_url}/media/links/{body['request_id']}/{link['camera_id']}/")
    # AND the issue is one audit record naming every link's camera, the officer, purpose and expiry
    issued = _audit(scene, since, "video-link.issued", body["request_id"], wait_for=1)
    assert len(issued) == 1
    record = issued[0]
    assert record.details["cameras"] == [link["camera_id"] for link in links]
    assert (record.actor, record.source_ip, record.result) == ("vl-police", "127.0.0.2", "ok")
    assert (record.details["incident"], record.details["officer"], record.details["purpose"]) == \
        ("112-2026-000123", "officer-77", "CRIME-INVESTIGATION")
    assert datetime.fromisoformat(record.details["expires_at"]) == expires and record.details["cidr"] == "127.0.0.2/32"


def test_outside_the_range_is_403_and_the_denial_is_audited(local_platform, scene):
    since = int(time.time() * 1000) - 1
    outside = authenticated(local_platform.api_url, scene["tokens"]["vl-police"], "127.0.0.3")
    reply = request_links.sync_detailed(client=outside, body=VideoLinkRequest.from_dict(_recorded_body(scene)))

    assert reply.status_code == HTTPStatus.FORBIDDEN
    assert isinstance(reply.parsed, Error) and "127.0.0.3" in reply.parsed.error.message
    denied = _audit(scene, since, "video-link.denied", wait_for=1)
    assert [(r.actor, r.source_ip, r.result) for r in denied] == [("vl-police", "127.0.0.3", "denied")]
    assert denied[0].details["status"] == 403


def test_bad_credentials_are_401_counted_and_sampled_not_each_recorded(local_platform, scene):
    since = int(time.time() * 1000) - 1
    impostor = authenticated(local_platform.api_url, "gt.vl-police.not-the-secret-at-all-xx", "127.0.0.2")
    replies = [request_links.sync_detailed(client=impostor, body=VideoLinkRequest.from_dict(_recorded_body(scene)))
               for _ in range(5)]

    assert [r.status_code for r in replies] == [HTTPStatus.UNAUTHORIZED] * 5
    time.sleep(0.3)
    sampled = _audit(scene, since, "video-link.unauthenticated")
    assert len(sampled) <= 1  # one in NOISE_SAMPLE_EVERY, with the running count
    assert all(r.details["claimed"] == "vl-police" and r.details["sampled_one_in"] == 100 for r in sampled)
    assert _audit(scene, since, "video-link.denied") == []


def test_recorded_link_plays_through_the_edge_and_covers_the_window(local_platform, scene):
    # GIVEN a recorded link for a 20 s window
    body = _issue(local_platform, scene, camera_count=1)
    link = body["links"][0]
    player = session_from("127.0.0.2")

    # WHEN a player at the agency's address fetches the playlist and every segment
    playlist = player.get(link["url"])
    assert playlist.status_code == 200, playlist.text
    assert playlist.text.startswith("#EXTM3U") and "#EXT-X-ENDLIST" in playlist.text
    frames, seconds = 0, 0.0
    for uri in _uris(playlist.text):
        segment = player.get(f"{local_platform.edge_url}{uri}" if uri.startswith("/") else uri)
        assert segment.status_code == 200
        with av.open(io.BytesIO(segment.content), mode="r") as container:
            frames += sum(1 for _ in container.decode(video=0))
    for duration in re.findall(r"#EXTINF:([\d.]+),", playlist.text):
        seconds += float(duration)

    # THEN the segments decode and cover the requested window (whole segments around it)
    t0 = scene["recorded_from"]
    covers_from = datetime.fromisoformat(link["covers_from"]).timestamp() * 1000
    covers_until = datetime.fromisoformat(link["covers_until"]).timestamp() * 1000
    assert covers_from <= t0 + 2_000 and covers_until >= t0 + 22_000
    assert seconds >= 20.0
    assert frames == pytest.approx(seconds * 10, abs=2)  # 10 fps source
    start = re.search(r"#EXT-X-START:TIME-OFFSET=([\d.]+)", playlist.text)
    assert start is not None and float(start.group(1)) == pytest.approx((t0 + 2_000 - covers_from) / 1000, abs=0.01)
    # AND the same URLs from another address are refused by the edge
    other = session_from("127.0.0.3")
    assert other.get(link["url"]).status_code == 403
    assert other.get(_uris(playlist.text)[0]).json()["error"]["message"] == \
        "source ip not allowed"


def test_a_link_reaches_only_its_own_camera(local_platform, scene):
    body = _issue(local_platform, scene, camera_count=2)
    first, second = body["links"]
    playlist = session_from("127.0.0.2").get(first["url"]).text
    # GIVEN the first link's signature, WHEN it is used on the second camera's playlist path
    forged = second["url"].split("?")[0] + "?" + first["url"].split("?", 1)[1]

    reply = session_from("127.0.0.2").get(forged)

    assert reply.status_code == 403 and reply.json()["error"]["message"] == "resource mismatch"
    assert all(f"/{first['camera_id']}/" in uri for uri in _uris(playlist))


def test_tampered_policy_or_signature_is_refused_at_the_edge(local_platform, scene):
    url = _issue(local_platform, scene, camera_count=1)["links"][0]["url"]
    query = parse_qs(urlsplit(url).query)
    signature = query["Signature"][0]
    flipped = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
    policy = query["Policy"][0]
    other_policy = _issue(local_platform, scene, camera_count=1)["links"][0]["url"]
    swapped = url.replace(policy, parse_qs(urlsplit(other_policy).query)["Policy"][0])
    player = session_from("127.0.0.2")

    assert player.get(url).status_code == 200
    assert player.get(url.replace(signature, flipped)).json()["error"]["message"] == "bad signature"
    assert player.get(swapped).json()["error"]["message"] == "bad signature"


def test_expired_link_is_refused_at_the_edge(local_platform, scene):
    # GIVEN a link signed exactly as the service does, but already past its expiry
    body = _issue(local_platform, scene, camera_count=1)
    camera, request_id = body["links"][0]["camera_id"], body["request_id"]
    signer = signer_from_settings(get_settings())
    base = local_platform.edge_url
    url = signer.sign(f"{base}/media/links/{request_id}/{camera}/index.m3u8?link={request_id}",
                      expires_at=int(time.time()) - 1, ip_cidr="127.0.0.2/32")

    reply = session_from("127.0.0.2").get(url)

    assert reply.status_code == 403 and reply.json()["error"]["message"] == "expired"


def test_revoked_request_stops_at_the_edge_at_once(local_platform, scene):
    since = int(time.time() * 1000) - 1
    police = _agency(local_platform, scene)
    body = _issue(local_platform, scene, camera_count=2)
    url = body["links"][0]["url"]
    player = session_from("127.0.0.2")
    playlist = player.get(url)
    segment_url = _uris(playlist.text)[0]
    assert player.get(segment_url).status_code == 200

    # WHEN the agency revokes the request
    revoked = revoke_links.sync_detailed(body["request_id"], client=police)

    # THEN the playlist and the segments are refused immediately, long before expiry
    assert revoked.status_code == HTTPStatus.OK and revoked.parsed.status == LinkStatus.REVOKED
    for target in (url, segment_url, body["links"][1]["url"]):
        reply = player.get(target)
        assert reply.status_code == 403
        assert reply.json()["error"]["message"].startswith("revoked")
    assert get_links.sync(body["request_id"], client=police).status == LinkStatus.REVOKED
    records = _audit(scene, since, "video-link.revoked", body["request_id"], wait_for=1)
    assert [(r.actor, r.result) for r in records] == [("vl-police", "revoked")]


def test_another_agency_gets_404(local_platform, scene):
    body = _issue(local_platform, scene, camera_count=1)
    fire, police = _agency(local_platform, scene, "vl-fire"), _agency(local_platform, scene)

    theirs = get_links.sync_detailed(body["request_id"], client=fire)
    revoke = revoke_links.sync_detailed(body["request_id"], client=fire)
    unknown = get_links.sync_detailed("vl-0000000000000000", client=police)
    ill_formed = get_links.sync_detailed("links-of-someone-else", client=police)

    assert theirs.status_code == revoke.status_code == unknown.status_code == ill_formed.status_code == 404
    assert all(isinstance(r.parsed, Error) for r in (theirs, revoke, unknown, ill_formed))
    assert theirs.parsed.error.code == unknown.parsed.error.code == ill_formed.parsed.error.code == "not_found"
    assert get_links.sync(body["request_id"], client=police).status.value == "active"


def test_window_outside_retention_or_in_the_future_is_422(local_platform, scene):
    police = _agency(local_platform, scene)
    now = datetime.now(UTC)
    old = {"start": (now - timedelta(days=31)).isoformat(), "end": (now - timedelta(days=31, minutes=-30)).isoformat()}
    future = {"start": (now + timedelta(minutes=5)).isoformat(), "end": (now + timedelta(minutes=20)).isoformat()}
    too_long = {"start": (now - timedelta(hours=3)).isoformat(), "end": now.isoformat()}

    replies = [request_links.sync_detailed(client=police, body=VideoLinkRequest.from_dict(
        _recorded_body(scene, window=w))) for w in (old, future, too_long)]

    assert [r.status_code for r in replies] == [HTTPStatus.UNPROCESSABLE_ENTITY] * 3
    assert [r.parsed.error.code for r in replies] == \
        ["window_outside_retention", "window_in_future", "validation_failed"]
    assert "30-day footage retention" in replies[0].parsed.error.message
    assert "2 hours" in replies[2].parsed.error.message


def test_no_camera_within_the_radius_is_an_empty_answer_with_a_reason(local_platform, scene):
    body = _issue(local_platform, scene, location={"lat": 37.45, "lon": 126.45})  # over the sea off Incheon

    assert body["links"] == []
    assert "no active camera" in body["note"] and "3000 m" in body["note"]


def test_mode_and_lifetime_follow_the_agency_registry(local_platform, scene):
    live = request_links.sync_detailed(client=_agency(local_platform, scene, "vl-fire"), body=VideoLinkRequest.from_dict(
        {**_recorded_body(scene), "mode": "live", "window": None}))
    body = _issue(local_platform, scene, who="vl-fire", camera_count=1, lifetime_s=3600)

    assert live.status_code == HTTPStatus.FORBIDDEN and live.parsed.error.code == "mode_not_allowed"
    remaining = datetime.fromisoformat(body["links"][0]["expires_at"]) - datetime.now(UTC)
    assert timedelta(seconds=250) < remaining <= timedelta(seconds=300)  # capped at the fire agency's 300 s


def test_live_link_plays_the_camera_simulator(local_platform, scene):
    body = _issue(local_platform, scene, mode="live", window=None, camera_count=2)
    link = body["links"][0]
    assert link["mode"] == "live" and f"/live/{link['camera_id']}/index.m3u8?link={body['request_id']}" in link["url"]
    player = session_from("127.0.0.2")

    playlist = player.get(link["url"])
    uris = _uris(playlist.text)
    segment = player.get(uris[-1])

    assert playlist.status_code == 200 and "#EXT-X-ENDLIST" not in playlist.text
    assert all(f"/live/{link['camera_id']}/" in uri and f"link={body['request_id']}&Policy=" in uri for uri in uris)
    assert segment.status_code == 200
    with av.open(io.BytesIO(segment.content), mode="r") as container:
        assert sum(1 for _ in container.decode(video=0)) > 0
    assert session_from("127.0.0.3").get(link["url"]).status_code == 403


def test_every_edge_request_is_an_audit_record(local_platform, scene):
    since = int(time.time() * 1000) - 1
    body = _issue(local_platform, scene, camera_count=2)
    request_id = body["request_id"]
    player, stranger = session_from("127.0.0.2"), session_from("127.0.0.3")
    made = 0
    for link in body["links"]:
        playlist = player.get(link["url"])
        made += 1
        for uri in _uris(playlist.text):
            assert player.get(uri).status_code == 200
            made += 1
    assert stranger.get(body["links"][0]["url"]).status_code == 403
    made += 1

    records = _audit(scene, since, "edge.access", request_id, wait_for=made)
    time.sleep(0.3)  # nothing more may arrive
    records = _audit(scene, since, "edge.access", request_id)

    assert len(records) == made
    assert sum(r.result == "denied" for r in records) == 1
    assert {r.actor for r in records} == {"vl-police"}
    assert {r.details["incident"] for r in records} == {"112-2026-000123"}
    issued = _audit(scene, since, "video-link.issued", request_id)
    assert [r.details["cameras"] for r in issued] == [[link["camera_id"] for link in body["links"]]]



def test_closing_the_incident_stops_its_links_at_the_edge(local_platform, scene):
    police = _agency(local_platform, scene)
    closing = [_issue(local_platform, scene, camera_count=1, incident_number="112-2026-CLOSE") for _ in range(2)]
    other = _issue(local_platform, scene, camera_count=1, incident_number="112-2026-OPEN")
    player = session_from("127.0.0.2")
    assert player.get(closing[0]["links"][0]["url"]).status_code == 200

    # WHEN the agency closes the incident
    reply = close_incident.sync_detailed("112-2026-CLOSE", client=police)

    # THEN every request of that incident is revoked and refused at the edge; other incidents play on
    assert reply.status_code == HTTPStatus.OK
    assert sorted(reply.parsed.revoked) == sorted(grant["request_id"] for grant in closing)
    for grant in closing:
        refused = player.get(grant["links"][0]["url"])
        assert refused.status_code == 403 and refused.json()["error"]["message"].startswith("revoked")
    assert player.get(other["links"][0]["url"]).status_code == 200
    fire = _agency(local_platform, scene, "vl-fire")
    assert close_incident.sync("112-2026-OPEN", client=fire).revoked == []


def test_disabling_an_agency_in_the_admin_cli_stops_its_links_at_the_edge(local_platform, scene):
    from chalicelib.cli import main as admin_cli

    # GIVEN a third agency with a playing link
    facts = AgencyProfile(kind=AgencyKind.POLICE, max_link_seconds=900).to_attributes()
    _, token = create_principal(PrincipalKind.AGENCY, "vl-withdrawn", principal_id="vl-withdrawn",
                                cidrs=("127.0.0.2/32",), attributes=facts, resources=scene["resources"])
    scene["tokens"]["vl-withdrawn"] = token
    url = _issue(local_platform, scene, who="vl-withdrawn", camera_count=1)["links"][0]["url"]
    player = session_from("127.0.0.2")
    assert player.get(url).status_code == 200

    # WHEN the administrator disables the agency
    assert admin_cli(["principal", "disable", "--id", "vl-withdrawn"]) == 0

    # THEN its link is refused at the edge as revoked, not only its API token
    reply = player.get(url)
    assert reply.status_code == 403 and reply.json()["error"]["message"].startswith("revoked")
