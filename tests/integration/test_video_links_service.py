"""The video-link service on its real tables and buckets (moto): issue, verify at the edge policy,
revoke, close an incident, audit; and the Kinesis Video live adapter on moto's emulation."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import av
import boto3
import pytest

from chalicelib.adapters.cloudfront import CloudFrontUrlSigner
from chalicelib.adapters.kvs import KvsLiveLinks
from chalicelib.adapters.signing_key import load_signing_key
from chalicelib.adapters.video_links import build_video_links
from chalicelib.errors import Forbidden, NotFound, PermanentError, ValidationFailed
from chalicelib.models.camera import Camera, CameraKind
from chalicelib.models.principal import Principal, PrincipalKind
from chalicelib.models.video_link import AgencyKind, AgencyProfile, LinkMode, LinkStatus, VideoLinkRequest
from chalicelib.services.audit import AuditLog
from chalicelib.services.cameras import CameraRegistry
from chalicelib.services.edge_policy import EdgeDenied, EdgePolicyVerifier
from chalicelib.services.footage import FootageCatalog, segment_key
from chalicelib.services.video_links import EdgeAccessAudit, LinkRevocations, VideoLinkService
from chalicelib.video.segmenter import make_synthetic_video
from local.keys import ensure_signing_key

REGION = "ap-northeast-2"
EDGE = "http://edge.test"
SCENE = (37.5665, 126.9780)
NOW = time.time()
RECORDED_FROM = int(NOW * 1000) - 3_600_000


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    try:
        return make_synthetic_video(tmp_path_factory.mktemp("vl") / "clip.mp4", 25, 10, (160, 120))
    except (av.FFmpegError, ValueError) as exc:
        pytest.skip(f"PyAV cannot write a synthetic test video: {exc}")


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, bytes, bytes, Path]:
    directory = tmp_path_factory.mktemp("keys")
    key_id, private, public = ensure_signing_key(directory)
    return key_id, private, public, directory / "cloudfront-signing-key.pem"


def _agency(pid: str = "police-1", cidrs: tuple[str, ...] = ("127.0.0.2/32", "2001:db8::/32"),
            **facts: Any) -> Principal:
    attributes = AgencyProfile(kind=AgencyKind.POLICE, **facts).to_attributes()
    return Principal(principal_id=pid, kind=PrincipalKind.AGENCY, name=pid, cidrs=cidrs, attributes=attributes,
                     token_hash="0" * 64, created_ms=0)


def _body(**overrides: Any) -> VideoLinkRequest:
    fields: dict[str, Any] = {
        "incident_number": "112-2026-1", "location": {"lat": SCENE[0], "lon": SCENE[1]}, "mode": "recorded",
        "window": {"start": datetime.fromtimestamp((RECORDED_FROM + 3_000) / 1000, UTC).isoformat(),
                   "end": datetime.fromtimestamp((RECORDED_FROM + 18_000) / 1000, UTC).isoformat()},
        "purpose": "CRIME-INVESTIGATION", "officer_id": "officer-9", **overrides}
    return VideoLinkRequest.model_validate(fields)


@pytest.fixture
def world(aws, video, keys) -> dict[str, Any]:
    """Seven cameras around the scene; footage on the 2nd..7th (the nearest one recorded nothing)."""
    key_id, private, public, _ = keys
    settings = aws.settings
    registry = CameraRegistry(aws.table("cameras"), aws.store("media"), index_key=settings.camera_index_key)
    cameras = [Camera(camera_id=f"CAM-{i}", kind=CameraKind.CRIME_PREVENTION, district="Jung-gu",
                      lat=SCENE[0] + i * 0.0005, lon=SCENE[1], stream_name=f"stream-{i}") for i in range(7)]
    registry.load_catalog(cameras)
    footage = FootageCatalog.from_settings(aws.store("footage"), aws.table("footage"), settings)
    recorded = footage.ingest("CAM-1", video, start_ms=RECORDED_FROM)
    for camera in cameras[2:]:  # the same recording on the others, without transcoding it again
        for segment in recorded:
            copy = segment.model_copy(update={"camera_id": camera.camera_id,
                                              "key": segment_key(camera.camera_id, segment.start_ms)})
            aws.store("footage").put(copy.key, aws.store("footage").get(segment.key))
            aws.table("footage").put({**copy.model_dump(), "expires_at": footage.expires_at(copy.end_ms)})
    signer = CloudFrontUrlSigner(key_id, private)
    audit = AuditLog(aws.table("audit"))
    revocations = LinkRevocations(aws.table("records"))
    service = VideoLinkService(cameras=registry, footage=footage, media=aws.store("media"), records=aws.table("records"),
                               audit=audit, signer=signer, edge_base=EDGE, live=_NoLive(), retention_days=30)
    return {"service": service, "audit": audit, "verifier": EdgePolicyVerifier({key_id: public}, is_revoked=revocations),
            "media": aws.store("media"), "registry": registry, "footage": footage, "signer": signer}


class _NoLive:
    def available(self, camera: Camera) -> bool:
        return False

    def link(self, camera: Camera, *, request_id: str, expires_at: int, cidr: str) -> tuple[str, int] | None:
        raise AssertionError("not called when unavailable")


def _audit(world: dict[str, Any], action: str) -> list[Any]:
    return [r for r in world["audit"].records(since_ms=RECORDED_FROM) if r.action == action]


def test_issue_signs_one_bound_link_per_camera_with_footage(world):
    grant = world["service"].issue(_agency(), "127.0.0.2", _body())

    assert [link.camera_id for link in grant.links] == ["CAM-1", "CAM-2", "CAM-3", "CAM-4", "CAM-5"]
    assert grant.source_cidr == "127.0.0.2/32" and grant.note is None
    for link in grant.links:
        # the playlist object exists and every URI in it verifies from the agency's address only
        key = link.url.split("/media/", 1)[1].split("?", 1)[0]
        playlist = world["media"].get(key).decode()
        uris = [line for line in playlist.splitlines() if line and not line.startswith("#")]
        assert len(uris) == link.segments == 2  # 10 s segments meeting [3 s, 18 s)
        for url in (link.url, *(EDGE + uri for uri in uris)):
            assert world["verifier"].verify(url, source_ip="127.0.0.2").source_cidr == "127.0.0.2/32"
            with pytest.raises(EdgeDenied):
                world["verifier"].verify(url, source_ip="127.0.0.3")
    issued = _audit(world, "video-link.issued")
    assert [(r.subject, r.details["cameras"]) for r in issued] == \
        [(grant.request_id, [link.camera_id for link in grant.links])]
    assert issued[0].details["window_start"] == _body().window.start.isoformat()  # type: ignore[union-attr]


def test_ipv6_caller_gets_links_bound_to_its_ipv6_range(world):
    grant = world["service"].issue(_agency(), "2001:db8:5::1", _body(camera_count=1))

    assert grant.source_cidr == "2001:db8::/32"
    assert world["verifier"].verify(grant.links[0].url, source_ip="2001:db8:ffff::2").source_cidr == "2001:db8::/32"
    with pytest.raises(EdgeDenied):
        world["verifier"].verify(grant.links[0].url, source_ip="127.0.0.2")


def test_link_expires_at_the_agency_maximum(world):
    grant = world["service"].issue(_agency(max_link_seconds=120), "127.0.0.2", _body(camera_count=1, lifetime_s=3600))
    expires = int(grant.expires_at.timestamp())

    assert 115 <= expires - time.time() <= 120
    assert world["verifier"].verify(grant.links[0].url, source_ip="127.0.0.2", now=expires - 1)
    with pytest.raises(EdgeDenied, match="expired"):
        world["verifier"].verify(grant.links[0].url, source_ip="127.0.0.2", now=expires)


def test_revoked_and_closed_incident_links_are_refused_by_the_edge_check(world):
    service: VideoLinkService = world["service"]
    first = service.issue(_agency(), "127.0.0.2", _body(camera_count=1))
    second = service.issue(_agency(), "127.0.0.2", _body(camera_count=1, incident_number="112-2026-2"))
    third = service.issue(_agency(), "127.0.0.2", _body(camera_count=1, incident_number="112-2026-2"))

    revoked = service.revoke("police-1", first.request_id, source_ip="127.0.0.2")
    closed = service.close_incident("police-1", "112-2026-2")

    assert revoked.status is LinkStatus.REVOKED and service.revoke("police-1", first.request_id) == revoked
    assert sorted(closed) == sorted([second.request_id, third.request_id])
    for grant in (first, second, third):
        with pytest.raises(EdgeDenied, match=r"^revoked"):
            world["verifier"].verify(grant.links[0].url, source_ip="127.0.0.2")
    assert len(_audit(world, "video-link.revoked")) == 3  # the repeated revoke wrote nothing


def test_unknown_request_in_a_link_is_refused(world):
    grant = world["service"].issue(_agency(), "127.0.0.2", _body(camera_count=1))
    world["service"]._records._table.delete({"pk": f"VIDEOLINK#{grant.request_id}", "sk": "record"})

    with pytest.raises(EdgeDenied, match="unknown video-link request"):
        world["verifier"].verify(grant.links[0].url, source_ip="127.0.0.2")


def test_another_agency_cannot_read_or_revoke(world):
    grant = world["service"].issue(_agency(), "127.0.0.2", _body(camera_count=1))

    for call in (lambda: world["service"].get("fire-1", grant.request_id),
                 lambda: world["service"].revoke("fire-1", grant.request_id),
                 lambda: world["service"].get("police-1", "../../etc")):
        with pytest.raises(NotFound):
            call()
    assert world["service"].get("police-1", grant.request_id).status is LinkStatus.ACTIVE


def test_refusals_are_audited(world):
    service = world["service"]
    old = _body(window={"start": "2020-01-01T00:00:00Z", "end": "2020-01-01T01:00:00Z"})
    with pytest.raises(ValidationFailed, match="retention"):
        service.issue(_agency(), "127.0.0.2", old)
    with pytest.raises(Forbidden, match="may not request live"):
        service.issue(_agency(modes=frozenset({LinkMode.RECORDED})), "127.0.0.2", _body(mode="live", window=None))

    assert [(r.result, r.details["incident"]) for r in _audit(world, "video-link.rejected")] == [("rejected", "112-2026-1")]
    assert [r.result for r in _audit(world, "video-link.denied")] == ["denied"]


def test_no_camera_within_radius_is_empty_with_a_note_and_audited(world):
    grant = world["service"].issue(_agency(), "127.0.0.2", _body(location={"lat": 35.1, "lon": 129.0}))

    assert grant.links == [] and "no active camera" in str(grant.note)
    assert [r.result for r in _audit(world, "video-link.issued")] == ["empty"]


def test_fewer_cameras_with_footage_than_asked_is_said(world):
    grant = world["service"].issue(_agency(), "127.0.0.2", _body(camera_count=10))

    assert len(grant.links) == 6 and grant.note == "only 6 of 10 cameras with recorded footage for the window within 3000 m"


def test_edge_access_audit_attributes_requests_to_the_agency(world, aws):
    grant = world["service"].issue(_agency(), "127.0.0.2", _body(camera_count=1))
    log = EdgeAccessAudit(world["audit"], aws.table("records"))

    log({"path": "/footage/footage/CAM-1/1.ts", "resource": f"{EDGE}/*/CAM-1/*?link={grant.request_id}",
         "client_ip": "127.0.0.2", "status": 200, "reason": "ok", "bytes": 10})
    log({"path": f"/media/links/{grant.request_id}/CAM-1/index.m3u8", "resource": None, "client_ip": "127.0.0.3",
         "status": 403, "reason": "source ip not allowed", "bytes": 60})
    log({"path": "/footage/x.ts", "resource": None, "client_ip": "127.0.0.9", "status": 403, "reason": "missing signature"})

    records = _audit(world, "edge.access")
    assert [(r.actor, r.result, r.subject) for r in records] == [
        ("police-1", "ok", grant.request_id), ("police-1", "denied", grant.request_id),
        ("anonymous", "denied", "/footage/x.ts")]
    assert records[0].details["incident"] == "112-2026-1"


def test_signing_key_from_file_or_secrets_manager(aws, keys):
    _, private, _, path = keys
    client = boto3.client("secretsmanager", region_name=REGION)
    client.create_secret(Name="gt/test/signing-key", SecretString=private.decode())

    assert load_signing_key(str(path)) == private
    assert load_signing_key("gt/test/signing-key", client) == private
    with pytest.raises(PermanentError):
        load_signing_key(None)


# ---- live links from Kinesis Video Streams (moto) ----------------------------------------------


def _kvs(streams: list[str]) -> KvsLiveLinks:
    kvs = boto3.client("kinesisvideo", region_name=REGION)
    for name in streams:
        kvs.create_stream(StreamName=name, DataRetentionInHours=24)
    return KvsLiveLinks(kvs, lambda endpoint: boto3.client("kinesis-video-archived-media", region_name=REGION,
                                                           endpoint_url=endpoint))


def test_kvs_live_session_url(aws):
    live = _kvs(["stream-1"])
    camera = Camera(camera_id="CAM-1", kind=CameraKind.TRAFFIC, district="Jung-gu", lat=37.5, lon=127.0,
                    stream_name="stream-1")
    missing = camera.model_copy(update={"camera_id": "CAM-9", "stream_name": "stream-9"})
    now = int(time.time())

    made = live.link(camera, request_id="vl-0123456789abcdef", expires_at=now + 600, cidr="127.0.0.2/32")

    assert made is not None
    url, expires_at = made
    assert "SessionToken=" in url and url.startswith("https://") and ".kinesisvideo." in url
    assert now + 595 <= expires_at <= now + 605
    assert live.link(missing, request_id="vl-0123456789abcdef", expires_at=now + 600, cidr="127.0.0.2/32") is None
    short = live.link(camera, request_id="vl-0123456789abcdef", expires_at=now + 30, cidr="127.0.0.2/32")
    assert short is not None and short[1] >= now + 300  # KVS' minimum session length


def test_service_in_the_cloud_shape_uses_kvs_for_live(world, aws, keys):
    _, _, _, key_path = keys
    settings = aws.settings.model_copy(update={"signing_key_secret": str(key_path), "media_edge_url": EDGE})
    live = _kvs([f"stream-{i}" for i in (0, 2, 4)])  # only three cameras stream
    service = build_video_links(settings, aws, world["registry"], live=live)

    grant = service.issue(_agency(), "127.0.0.2", _body(mode="live", window=None, camera_count=5))

    assert [link.camera_id for link in grant.links] == ["CAM-0", "CAM-2", "CAM-4"]
    assert all(link.mode is LinkMode.LIVE and "SessionToken=" in link.url for link in grant.links)
    assert grant.note == "only 3 of 5 cameras with a live stream within 3000 m"
