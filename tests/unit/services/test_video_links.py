"""Video links, the pure parts: request rules, window and retention, CIDR binding (IPv4 and IPv6),
the per-camera wildcard resource, signed-link verification (expiry, tampering) and playlists."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import ValidationError

from chalicelib.adapters.cloudfront import CloudFrontUrlSigner
from chalicelib.errors import Forbidden, ValidationFailed
from chalicelib.models.footage import FootageSegment
from chalicelib.models.principal import Principal, PrincipalKind
from chalicelib.models.video_link import AgencyKind, AgencyProfile, LinkMode, TimeWindow, VideoLinkRequest
from chalicelib.services.footage import DAY_MS
from chalicelib.services.video_links.playlists import recorded_playlist
from chalicelib.services.video_links.policy import agency_profile, binding_cidr, check_window, object_url, request_id_of
from local.edge_policy import (
    BAD_SIGNATURE,
    EXPIRED,
    RESOURCE_MISMATCH,
    SOURCE_IP_NOT_ALLOWED,
    EdgeDenied,
    EdgePolicyVerifier,
    resource_matches,
)

NOW_MS = 1_800_000_000_000
KEY_ID = "KTESTKEY0001"
EDGE = "https://media.example"
RID = "vl-0123456789abcdef"


def _window(start_offset_min: float, minutes: float) -> TimeWindow:
    start = datetime.fromtimestamp(NOW_MS / 1000, UTC) + timedelta(minutes=start_offset_min)
    return TimeWindow(start=start, end=start + timedelta(minutes=minutes))


def _principal(*cidrs: str, **attributes: str) -> Principal:
    return Principal(principal_id="police-1", kind=PrincipalKind.AGENCY, name="Police", cidrs=cidrs,
                     attributes=attributes, token_hash="0" * 64, created_ms=0)


def _request(**overrides: Any) -> dict[str, Any]:
    return {"incident_number": "112-1", "location": {"lat": 37.5, "lon": 127.0}, "mode": "recorded",
            "window": {"start": "2026-11-22T09:00:00Z", "end": "2026-11-22T09:30:00Z"},
            "purpose": "CRIME-INVESTIGATION", "officer_id": "o-1", **overrides}


@pytest.fixture(scope="module")
def keys() -> tuple[CloudFrontUrlSigner, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return CloudFrontUrlSigner(KEY_ID, pem), public


# ---- the request ---------------------------------------------------------------------------


def test_request_defaults_and_limits():
    body = VideoLinkRequest.model_validate(_request())
    assert (body.camera_count, body.radius_m, body.lifetime_s) == (5, 3000.0, None)
    for bad in ({"camera_count": 11}, {"camera_count": 0}, {"radius_m": 3001}, {"purpose": "because"},
                {"mode": "recorded", "window": None}, {"mode": "live"}, {"unknown": 1},
                {"window": {"start": "2026-11-22T09:00:00", "end": "2026-11-22T09:30:00"}},  # naive times
                {"lifetime_s": 10}):
        with pytest.raises(ValidationError):
            VideoLinkRequest.model_validate(_request(**bad))
    live = VideoLinkRequest.model_validate(_request(mode="live", window=None, camera_count=10))
    assert live.mode is LinkMode.LIVE and live.window is None


def test_window_is_ordered_and_at_most_two_hours():
    assert _window(-120, 120).end_ms - _window(-120, 120).start_ms == 2 * 3_600_000
    with pytest.raises(ValidationError, match="2 hours"):
        _window(-200, 121)
    with pytest.raises(ValidationError, match=r"after window\.start"):
        _window(-10, 0)


@pytest.mark.parametrize(("offset_min", "minutes", "code"), [
    (-30 * 24 * 60 - 1, 30, "window_outside_retention"),  # starts a minute before the 30 days
    (-10, 12, "window_in_future"),  # ends 2 minutes from now
])
def test_window_outside_retention_or_in_the_future_is_refused(offset_min, minutes, code):
    with pytest.raises(ValidationFailed) as caught:
        check_window(_window(offset_min, minutes), NOW_MS, retention_days=30)
    assert (caught.value.status, caught.value.code) == (422, code)


def test_window_inside_retention_passes():
    check_window(_window(-30 * 24 * 60 + 1, 60), NOW_MS, retention_days=30)  # oldest allowed hour
    check_window(_window(-60, 60.5), NOW_MS, retention_days=30)  # ends within the clock-skew slack
    assert DAY_MS == 86_400_000


# ---- the agency registry facts ---------------------------------------------------------------


def test_agency_profile_from_principal_attributes():
    profile = AgencyProfile(kind=AgencyKind.FIRE, max_link_seconds=300, modes=frozenset({LinkMode.RECORDED}))
    assert agency_profile(_principal(**profile.to_attributes())) == profile
    default = agency_profile(_principal())
    assert default.modes == frozenset(LinkMode) and default.max_link_seconds == 600 and default.kind is None
    for broken in ({"max_link_seconds": "forever"}, {"modes": "live,teleport"}, {"agency_kind": "navy"}):
        with pytest.raises(Forbidden, match="invalid registry entry"):
            agency_profile(_principal(**broken))


# ---- IP binding ------------------------------------------------------------------------------


@pytest.mark.parametrize(("cidrs", "source", "bound"), [
    (("10.20.0.0/16",), "10.20.3.4", "10.20.0.0/16"),
    (("10.20.0.0/16", "2001:db8::/32"), "2001:db8::7", "2001:db8::/32"),
    (("127.0.0.2/32",), "::ffff:127.0.0.2", "127.0.0.2/32"),  # IPv4-mapped IPv6 peer
])
def test_links_are_bound_to_the_range_the_caller_used(cidrs, source, bound):
    assert binding_cidr(_principal(*cidrs), source) == bound


def test_an_agency_without_a_range_is_never_served():
    with pytest.raises(Forbidden, match="no registered address range"):
        binding_cidr(_principal(), "192.0.2.1")


@pytest.mark.parametrize("source", ["10.21.0.1", "2001:db9::1", "not-an-ip", ""])
def test_address_outside_every_range_is_forbidden(source):
    principal = _principal("10.20.0.0/16", "2001:db8::/32")
    assert not principal.allows_address(source)
    with pytest.raises(Forbidden):
        binding_cidr(principal, source)


# ---- the signed resource ---------------------------------------------------------------------


def test_each_object_url_is_its_own_resource():
    resource = object_url(EDGE, "/footage/footage/CAM-1/1800000000000.ts", RID)
    assert resource_matches(resource, f"{EDGE}/footage/footage/CAM-1/1800000000000.ts?link={RID}")
    assert not resource_matches(resource, f"{EDGE}/footage/footage/CAM-1/1800000010000.ts?link={RID}")
    assert not resource_matches(resource, f"{EDGE}/footage/footage/CAM-10/1800000000000.ts?link={RID}")
    assert not resource_matches(resource, f"{EDGE}/footage/footage/CAM-1/1800000000000.ts")
    assert request_id_of(resource) == RID
    assert request_id_of(f"/media/links/{RID}/CAM-1/index.m3u8") == RID
    assert request_id_of("/footage/footage/CAM-1/1.ts") is None
    assert request_id_of(None) is None


def _signed(signer: CloudFrontUrlSigner, url: str, *, cidr: str, expires_at: int) -> str:
    query = signer.signed_query(url, expires_at=expires_at, ip_cidr=cidr)
    return f"{url}&{urlencode(query, quote_via=quote)}"


def test_ipv6_bound_link_verifies_only_inside_its_range(keys):
    signer, public = keys
    verifier = EdgePolicyVerifier({KEY_ID: public})
    url = _signed(signer, f"{EDGE}/live/CAM-1/index.m3u8?link={RID}", cidr="2001:db8::/32", expires_at=2_000)

    grant = verifier.verify(url, source_ip="2001:db8:1::5", now=1_000)

    assert grant.source_cidr == "2001:db8::/32" and grant.path == "/live/CAM-1/index.m3u8"
    for outside in ("2001:db9::1", "127.0.0.2", "::ffff:10.0.0.1"):
        with pytest.raises(EdgeDenied) as caught:
            verifier.verify(url, source_ip=outside, now=1_000)
        assert caught.value.reason == SOURCE_IP_NOT_ALLOWED


def test_expired_link_is_refused(keys):
    signer, public = keys
    verifier = EdgePolicyVerifier({KEY_ID: public})
    url = _signed(signer, f"{EDGE}/live/CAM-1/index.m3u8?link={RID}", cidr="127.0.0.2/32", expires_at=2_000)

    assert verifier.verify(url, source_ip="127.0.0.2", now=1_999).expires_at == 2_000
    with pytest.raises(EdgeDenied) as caught:
        verifier.verify(url, source_ip="127.0.0.2", now=2_000)
    assert caught.value.reason == EXPIRED


def _b64(data: bytes) -> str:
    import base64

    return base64.b64encode(data).decode().replace("+", "-").replace("=", "_").replace("/", "~")


def test_tampered_policy_or_signature_is_refused(keys):
    signer, public = keys
    verifier = EdgePolicyVerifier({KEY_ID: public})
    url = _signed(signer, f"{EDGE}/live/CAM-1/index.m3u8?link={RID}", cidr="127.0.0.2/32", expires_at=2_000)
    query = parse_qs(urlsplit(url).query)
    policy = json.loads(signer.policy(f"{EDGE}/live/CAM-1/index.m3u8?link={RID}", expires_at=2_000,
                                      ip_cidr="127.0.0.2/32"))
    # widen the range and push the expiry, keep the old signature
    policy["Statement"][0]["Condition"]["IpAddress"]["AWS:SourceIp"] = "0.0.0.0/0"
    policy["Statement"][0]["Condition"]["DateLessThan"]["AWS:EpochTime"] = 9_999_999_999
    forged_policy = _b64(json.dumps(policy, separators=(",", ":")).encode())
    signature = query["Signature"][0]
    flipped = signature[:20] + ("A" if signature[20] != "A" else "B") + signature[21:]
    other_camera = url.replace("/live/CAM-1/", "/live/CAM-2/")

    for tampered, reason in ((url.replace(query["Policy"][0], forged_policy), BAD_SIGNATURE),
                             (url.replace(signature, flipped), BAD_SIGNATURE),
                             (other_camera, RESOURCE_MISMATCH)):
        with pytest.raises(EdgeDenied) as caught:
            verifier.verify(tampered, source_ip="127.0.0.2", now=1_000)
        assert caught.value.reason == reason


# ---- the recorded playlist -------------------------------------------------------------------


def _segment(start_ms: int, end_ms: int) -> FootageSegment:
    return FootageSegment(camera_id="CAM-1", start_ms=start_ms, end_ms=end_ms, key=f"footage/CAM-1/{start_ms}.ts",
                          fps=10, width=160, height=120, bytes=1000)


def test_recorded_playlist_starts_at_the_window_and_names_each_segment_url():
    t0 = NOW_MS - 3_600_000
    segments = [_segment(t0, t0 + 10_000), _segment(t0 + 10_000, t0 + 20_000), _segment(t0 + 30_000, t0 + 40_000)]
    window = TimeWindow(start=datetime.fromtimestamp((t0 + 4_000) / 1000, UTC),
                        end=datetime.fromtimestamp((t0 + 35_000) / 1000, UTC))

    text = recorded_playlist(segments, window, lambda s: f"{EDGE}/footage/{s.key}?link={RID}&Policy=p{s.start_ms}")

    uris = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert uris == [f"{EDGE}/footage/{s.key}?link={RID}&Policy=p{s.start_ms}" for s in segments]
    assert "#EXT-X-START:TIME-OFFSET=4.000,PRECISE=YES" in text
    assert text.count("#EXT-X-DISCONTINUITY\n") == 1  # the 10 s gap
    assert text.rstrip().endswith("#EXT-X-ENDLIST")
