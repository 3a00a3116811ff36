"""The video-link service on its real tables and buckets (moto): issue, verify at the edge policy,
revoke, close an incident, audit; and the Kinesis Video live adapter on moto's emulation."""

from __future__ import annotations

import shutil
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import av
import boto3
import cloudfront_oracle as oracle
import pytest
from cryptography.exceptions import InvalidSignature

from chalicelib.adapters.cloudfront import CloudFrontUrlSigner
from chalicelib.adapters.evidence import RsaReceiptSigner, S3EvidenceVault
from chalicelib.adapters.revocations import TableRevocations
from chalicelib.adapters.signing_key import load_signing_key
from chalicelib.errors import Forbidden, NotFound, PermanentError, ValidationFailed
from chalicelib.models.camera import Camera, CameraKind
from chalicelib.models.principal import Principal, PrincipalKind
from chalicelib.models.video_link import AgencyKind, AgencyProfile, LinkMode, LinkStatus, VideoLinkRequest
from chalicelib.services.audit import AuditLog
from chalicelib.services.cameras import CameraRegistry
from chalicelib.services.footage import FootageCatalog, segment_key
from chalicelib.services.video_links.edge_audit import EdgeAccessAudit
from chalicelib.services.video_links.evidence import EvidenceLocker, verify_receipt, verify_segments
from chalicelib.services.video_links.live_playlists import LiveLinkScope, sign_live_playlist
from chalicelib.services.video_links.service import VideoLinkService
from chalicelib.video.segmenter import make_synthetic_video
from chalicelib.wiring.video_links import build_video_links
from local.edge_function import ViewerRequestFunction, viewer_request_event
from local.edge_policy import EdgeDenied, EdgePolicyVerifier
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
    service = VideoLinkService(cameras=registry, footage=footage, media=aws.store("media"), records=aws.table("records"),
                               audit=audit, signer=signer, edge_base=EDGE, live=_NoLive(), retention_days=30,
                               revocations=TableRevocations(aws.table("records")),
                               evidence=EvidenceLocker(vault=S3EvidenceVault(aws.client("s3"), aws.catalog.bucket("evidence")),
                                                       footage_store=aws.store("footage"), records=aws.table("records"),
                                                       signer=RsaReceiptSigner(private), issuer="golden-time/test",
                                                       hold_days=90))
    return {"service": service, "audit": audit, "verifier": EdgePolicyVerifier({key_id: public}),
            "media": aws.store("media"), "records": aws.table("records"), "registry": registry, "footage": footage,
            "signer": signer}


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
        for url in (link.url, *uris):
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
    assert len(_audit(world, "video-link.revoked")) == 3  # the repeated revoke wrote nothing
    # the edge's viewer-request function reads these keys (the KeyValueStore in the cloud)
    kvs = TableRevocations(world["records"])
    assert kvs.get(first.request_id) == "revoked by the agency"
    assert kvs.get(second.request_id) == kvs.get(third.request_id) == "incident closed"
    if shutil.which("node") is None:
        pytest.skip("node is not installed (make installs it)")
    active = service.issue(_agency(), "127.0.0.2", _body(camera_count=1, incident_number="112-2026-3"))
    function = ViewerRequestFunction(kvs)  # the deployed JavaScript, under Node
    try:
        for grant in (first, second, third, active):
            url = grant.links[0].url
            assert world["verifier"].verify(url, source_ip="127.0.0.2")  # the signature alone still holds
            event = viewer_request_event("GET", url.split(EDGE, 1)[1], "127.0.0.2", {"Host": "edge.test"})
            refusal = function(event).refusal
            assert refusal == (None if grant is active else "revoked: video-link request revoked")
    finally:
        function.close()


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
    log = EdgeAccessAudit(world["audit"], aws.table("records"), noise_every=3)

    log({"path": "/footage/footage/CAM-1/1.ts", "resource": f"{EDGE}/footage/footage/CAM-1/1.ts?link={grant.request_id}",
         "client_ip": "127.0.0.2", "status": 200, "reason": "ok", "bytes": 10})
    # refused before any grant (wrong address): the link named in the URL still attributes it
    log({"path": "/footage/footage/CAM-1/1.ts", "resource": None, "link": grant.request_id, "client_ip": "127.0.0.3",
         "status": 403, "reason": "source ip not allowed", "bytes": 60})
    for _ in range(4):  # noise: no link named
        log({"path": "/footage/x.ts", "resource": None, "client_ip": "127.0.0.9", "status": 403,
             "reason": "missing signature"})

    records = _audit(world, "edge.access")
    assert [(r.actor, r.result, r.subject) for r in records] == [
        ("police-1", "ok", grant.request_id), ("police-1", "denied", grant.request_id)]
    assert records[1].source_ip == "127.0.0.3" and records[0].details["incident"] == "112-2026-1"
    noise = _audit(world, "edge.unattributed")
    assert [(r.result, r.details["seen"]) for r in noise] == [("sampled", 1), ("sampled", 4)]


def test_signing_key_from_file_or_secrets_manager(aws, keys):
    _, private, _, path = keys
    client = boto3.client("secretsmanager", region_name=REGION)
    client.create_secret(Name="gt/test/signing-key", SecretString=private.decode())

    assert load_signing_key(str(path)) == private
    assert load_signing_key("gt/test/signing-key", client) == private
    with pytest.raises(PermanentError):
        load_signing_key(None)


# ---- live links in the cloud shape: the gateways' playlists in S3, served through the edge ---------


def test_service_in_the_cloud_shape_links_live_through_the_edge(world, aws, keys):
    key_id, _, _, key_path = keys
    settings = aws.settings.model_copy(update={"signing_key_secret": str(key_path), "media_edge_url": EDGE,
                                               "aws_endpoint_url": None, "cloudfront_key_pair_id": key_id})
    for i in (0, 2, 4):  # only three cameras' gateways publish live video
        aws.store("media").put(f"live/CAM-{i}/index.m3u8", b"#EXTM3U\n", content_type="application/vnd.apple.mpegurl")
    service = build_video_links(settings, aws, world["registry"])

    grant = service.issue(_agency(), "127.0.0.2", _body(mode="live", window=None, camera_count=5))

    assert [link.camera_id for link in grant.links] == ["CAM-0", "CAM-2", "CAM-4"]
    for link in grant.links:
        assert link.mode is LinkMode.LIVE and link.url.startswith(f"{EDGE}/live/{link.camera_id}/index.m3u8?link=")
        assert "kinesisvideo" not in link.url
        assert world["verifier"].verify(link.url, source_ip="127.0.0.2").resource == link.url.split("&Policy=")[0]
    assert grant.note == "only 3 of 5 cameras with a live stream within 3000 m"


# ---- window scope: every URL opens exactly its own object -------------------------------------
# Judged by an oracle written from CloudFront's documentation (tests/cloudfront_oracle.py) and by
# the project's edge: every issued URL passes from inside the agency range before expiry and fails
# outside it or after; stretched to any other object (same camera outside the window, another
# camera, live video, another link's playlist) it fails both.


def _issued_urls(world: dict[str, Any], grant: Any) -> list[str]:
    """Every URL the agency receives: each link's playlist URL and each segment URI in it."""
    urls = []
    for link in grant.links:
        urls.append(link.url)
        key = link.url.split("/media/", 1)[1].split("?", 1)[0]
        urls += [line for line in world["media"].get(key).decode().splitlines() if line and not line.startswith("#")]
    return urls


def _refused_everywhere(world: dict[str, Any], keys: dict[str, bytes], url: str, now: int) -> None:
    verdict = oracle.check(url, viewer_ip="127.0.0.2", now=now, public_keys=keys)
    assert not verdict.allowed, url
    verifier: EdgePolicyVerifier = world["verifier"]
    with pytest.raises(EdgeDenied):
        verifier.verify(url, source_ip="127.0.0.2", now=now)


@pytest.fixture
def trusted(keys) -> dict[str, bytes]:
    key_id, _, public, _ = keys
    return {key_id: public}


def test_every_issued_url_passes_the_oracle_inside_and_fails_outside_or_late(world, trusted):
    grant = world["service"].issue(_agency(), "127.0.0.2", _body())
    now = int(time.time())
    expires = int(grant.expires_at.timestamp())
    urls = _issued_urls(world, grant)

    assert len(urls) == 5 * 3  # five playlists of two segments
    for url in urls:
        assert "*" not in oracle.resource_of(url) and "?" not in oracle.resource_of(url).split("?link=")[0]
        assert oracle.check(url, viewer_ip="127.0.0.2", now=now, public_keys=trusted).allowed, url
        assert world["verifier"].verify(url, source_ip="127.0.0.2", now=now)
        assert oracle.check(url, viewer_ip="127.0.0.3", now=now, public_keys=trusted).why == \
            "viewer address outside IpAddress"
        assert oracle.check(url, viewer_ip="127.0.0.2", now=expires, public_keys=trusted).why == "expired"
        assert oracle.check(url, viewer_ip="127.0.0.2", now=now, public_keys={"OTHER": b""}).why == \
            "key not in the trusted key group"


def test_a_window_link_refuses_every_segment_outside_its_window(world, trusted):
    service: VideoLinkService = world["service"]
    grant = service.issue(_agency(), "127.0.0.2", _body(camera_count=2))  # window [3 s, 18 s): segments 0 and 1
    other = service.issue(_agency(), "127.0.0.2", _body(camera_count=2, incident_number="112-2026-9"))
    now = int(time.time())
    link = grant.links[0]
    camera = link.camera_id
    recorded = world["footage"].segments_covering(camera, RECORDED_FROM, RECORDED_FROM + 3_600_000)
    inside = {s.key for s in recorded if s.start_ms < RECORDED_FROM + 18_000}
    outside_same_camera = [s.key for s in recorded if s.key not in inside]
    other_camera = grant.links[1].camera_id
    other_keys = [s.key for s in world["footage"].segments_covering(other_camera, 0, now * 1000)]
    assert outside_same_camera and other_keys

    signed = _issued_urls(world, grant)
    stretched = [
        *(f"/footage/{key}?link={grant.request_id}" for key in outside_same_camera),  # same camera, later
        *(f"/footage/{key}?link={grant.request_id}" for key in other_keys),  # another camera
        f"/live/{camera}/index.m3u8?link={grant.request_id}",  # live of the same camera
        f"/live/{camera}/{RECORDED_FROM}.ts?link={grant.request_id}",
        f"/media/links/{other.request_id}/{camera}/index.m3u8?link={other.request_id}",  # another link's window
        f"/media/links/{grant.request_id}/{other_camera}/index.m3u8?link={grant.request_id}",  # sibling playlist
        f"/footage/footage/{camera}/?link={grant.request_id}",
    ]
    for url in signed:
        own = url.split("&Policy=")[0].split("/", 3)[3]
        for target in (t for t in stretched if t != f"/{own}"):
            _refused_everywhere(world, trusted, oracle.with_path(url, target), now)


def test_a_live_link_reaches_only_live_segments_of_its_lifetime(world, trusted, keys):
    key_id, _, _, _ = keys
    issued_s = int(time.time())
    gateway = "\n".join(["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:10", "#EXT-X-MEDIA-SEQUENCE:40",
                         *[f"#EXTINF:10.000,\n{(issued_s - 40 + 10 * i) * 1000}.ts" for i in range(6)]])
    scope = LiveLinkScope(link="vl-00000000000000aa", camera_id="CAM-1", since_ms=issued_s * 1000,
                          expires_at=issued_s + 600, cidr="127.0.0.2/32")

    signed = sign_live_playlist(gateway, scope, edge_base=EDGE, signer=world["signer"])

    uris = [line for line in signed.splitlines() if line and not line.startswith("#")]
    starts = [int(uri.split("/")[-1].split(".ts")[0]) for uri in uris]
    # segments that ended more than one segment before issue are gone; the sequence moved on with them
    assert starts == [(issued_s - 10 + 10 * i) * 1000 for i in range(3)]
    assert "#EXT-X-MEDIA-SEQUENCE:43" in signed
    for uri in uris:
        assert oracle.check(uri, viewer_ip="127.0.0.2", now=issued_s, public_keys=trusted).allowed
        assert oracle.resource_of(uri) == uri.split("&Policy=")[0]
        for target in (f"/live/CAM-1/{(issued_s - 40) * 1000}.ts?link={scope.link}",  # before the link
                       f"/live/CAM-2/{starts[0]}.ts?link={scope.link}",  # another camera
                       f"/footage/footage/CAM-1/{RECORDED_FROM}.ts?link={scope.link}"):  # recorded
            assert not oracle.check(oracle.with_path(uri, target), viewer_ip="127.0.0.2", now=issued_s,
                                    public_keys=trusted).allowed
    assert key_id


CF = "https://d111111abcdef8.cloudfront.net"


@pytest.mark.parametrize(("pattern", "text", "expected"), [
    (f"{CF}/*", f"{CF}/a/b.jpg", True),
    (f"{CF}/*/game_download.zip*",
     f"{CF}/x/game_download.zip?license=yes", True),
    (f"{CF}/images/photo?.jpg", f"{CF}/images/photo1.jpg", True),
    (f"{CF}/images/photo?.jpg", f"{CF}/images/photo12.jpg", False),
    (f"{CF}/image.jpg", f"{CF}/image.jpg?x=1", False),
    ("*", "", True),
    ("a*b*c", "aXXbYYc", True),
    ("a*b*c", "aXXcYYb", False),
])
def test_the_oracles_wildcards_follow_the_documentation(pattern, text, expected):
    assert oracle.wildcard_match(pattern, text) is expected


# ---- evidence: legal hold, manifest, signed receipt ---------------------------------------------


def test_the_receipt_verifies_and_fails_when_a_byte_of_a_segment_changes(world, aws, keys):
    _, _, public, _ = keys
    service: VideoLinkService = world["service"]
    grant = service.issue(_agency(), "127.0.0.2", _body(camera_count=2))

    envelope = service.receipt("police-1", grant.request_id)
    published = service.evidence_public_key().encode()

    # the agency verifies the signature with the published key, then the bytes it fetched
    document = verify_receipt(envelope, published)
    assert published == public
    assert document["incident"] == "112-2026-1" and document["cameras"] == ["CAM-1", "CAM-2"]
    assert len(document["segments"]) == 4 and document["issuer"] == "golden-time/test"
    footage = aws.store("footage")
    assert verify_segments(document, footage.get) == []
    # the preservation's audit record carries the same hashes
    preserved = next(r for r in _audit(world, "video-link.evidence-preserved") if r.subject == grant.request_id)
    assert preserved.details["sha256"] == [f"{s['key']}={s['sha256']}" for s in document["segments"]]
    assert service.receipt("police-1", grant.request_id)["document"] == document  # preserved once only
    assert len([r for r in _audit(world, "video-link.evidence-preserved") if r.subject == grant.request_id]) == 1

    changed = document["segments"][1]["key"]
    data = bytearray(footage.get(changed))
    data[len(data) // 2] ^= 0x01
    footage.put(changed, bytes(data))
    assert verify_segments(document, footage.get) == [changed]
    # the held copy in the evidence vault still matches: that is what the hold is for
    vault = aws.client("s3")

    def held(key: str) -> bytes:
        body: bytes = vault.get_object(Bucket=aws.catalog.bucket("evidence"),
                                       Key=f"evidence/{grant.request_id}/{key}")["Body"].read()
        return body

    assert verify_segments(document, held) == []
    forged = {**envelope, "document": {**document, "cameras": ["CAM-1"]}}
    with pytest.raises(InvalidSignature):
        verify_receipt(forged, published)


def test_closing_the_incident_starts_the_hold_period(world, aws):
    service: VideoLinkService = world["service"]
    grant = service.issue(_agency(), "127.0.0.2", _body(camera_count=1))
    record = aws.table("records").get({"pk": f"EVIDENCE#{grant.request_id}", "sk": "hold"})
    assert record is not None and record["status"] == "pending" and record["release_at"] == 0  # copies follow

    service.close_incident("police-1", "112-2026-1")

    record = aws.table("records").get({"pk": f"EVIDENCE#{grant.request_id}", "sk": "hold"})
    assert record is not None and 89 * 86_400 < int(record["release_at"]) - time.time() <= 90 * 86_400


def test_disabling_an_agency_revokes_all_its_active_links(world):
    service: VideoLinkService = world["service"]
    first = service.issue(_agency(), "127.0.0.2", _body(camera_count=1))
    second = service.issue(_agency(), "127.0.0.2", _body(camera_count=1, incident_number="112-2026-4"))
    other = service.issue(_agency("fire-1"), "127.0.0.2", _body(camera_count=1))

    revoked = service.revoke_agency("police-1")

    assert sorted(revoked) == sorted([first.request_id, second.request_id])
    kvs = TableRevocations(world["records"])
    assert kvs.get(first.request_id) == kvs.get(second.request_id) == "agency disabled"
    assert kvs.get(other.request_id) is None and service.get("fire-1", other.request_id).status is LinkStatus.ACTIVE
