"""Edge verification of CloudFront custom-policy signed URLs (pure: no network, fixed clock)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from chalicelib.adapters.cloudfront import CloudFrontUrlSigner
from local.edge_policy import (
    EdgeDenied,
    EdgePolicyVerifier,
    resource_matches,
    split_signing_params,
    verify_signed_url,
)

NOW = 1_800_000_000
KEY_ID = "KTESTKEY0001"
URL = "https://media.example/footage/cam-0001/2027/01/15/seg-00042.ts"


@pytest.fixture(scope="module")
def private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def signer(private_key: rsa.RSAPrivateKey) -> CloudFrontUrlSigner:
    pem = private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    return CloudFrontUrlSigner(KEY_ID, pem)


@pytest.fixture(scope="module")
def verifier(private_key: rsa.RSAPrivateKey) -> EdgePolicyVerifier:
    public_pem = private_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                       serialization.PublicFormat.SubjectPublicKeyInfo)
    return EdgePolicyVerifier({KEY_ID: public_pem}, clock=lambda: NOW)


def _safe_b64(data: bytes) -> str:
    return base64.b64encode(data).decode().replace("+", "-").replace("=", "_").replace("/", "~")


def _hand_signed(private_key: rsa.RSAPrivateKey, policy: dict[str, Any] | str, *, url: str = URL, key_id: str = KEY_ID,
                 algorithm: hashes.HashAlgorithm | None = None, extra: str = "") -> str:
    """A signed URL built from CloudFront's documentation, independently of the signer under test."""
    raw = policy if isinstance(policy, str) else json.dumps(policy)
    signature = private_key.sign(raw.encode(), padding.PKCS1v15(), algorithm or hashes.SHA1())
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}Policy={_safe_b64(raw.encode())}&Signature={_safe_b64(signature)}&Key-Pair-Id={key_id}{extra}"


def _reason(verifier: EdgePolicyVerifier, url: str, source_ip: str = "203.0.113.7", now: float | None = None) -> str:
    with pytest.raises(EdgeDenied) as denied:
        verifier.verify(url, source_ip=source_ip, now=now)
    return denied.value.reason


def test_valid_link_is_granted_with_its_policy(signer: CloudFrontUrlSigner, verifier: EdgePolicyVerifier) -> None:
    # GIVEN a link signed for one segment, bound to a /24, valid from NOW-60 to NOW+300
    url = signer.sign(URL, expires_at=NOW + 300, not_before=NOW - 60, ip_cidr="203.0.113.0/24")

    # WHEN a viewer inside the range asks for it
    grant = verifier.verify(url, source_ip="203.0.113.7")

    # THEN the grant carries the policy's terms and the signing query to hand on
    assert grant.url == URL
    assert grant.path == "/footage/cam-0001/2027/01/15/seg-00042.ts"
    assert (grant.key_pair_id, grant.resource) == (KEY_ID, URL)
    assert (grant.expires_at, grant.not_before, grant.source_cidr) == (NOW + 300, NOW - 60, "203.0.113.0/24")
    assert grant.signing_query == urlsplit(url).query
    assert list(parse_qs(grant.signing_query)) == ["Policy", "Signature", "Key-Pair-Id"]


def test_hand_built_cloudfront_url_verifies(private_key: rsa.RSAPrivateKey, verifier: EdgePolicyVerifier) -> None:
    # GIVEN a URL made by the documented recipe (pretty-printed policy, own query parameters first)
    policy = {"Statement": [{"Resource": f"{URL}?quality=high",
                             "Condition": {"DateLessThan": {"AWS:EpochTime": NOW + 60},
                                           "IpAddress": {"AWS:SourceIp": "198.51.100.10/32"}}}]}
    url = _hand_signed(private_key, json.dumps(policy, indent=2), url=f"{URL}?quality=high")

    # WHEN / THEN it verifies, and the caller's own parameter stays part of the resource
    assert verifier.verify(url, source_ip="198.51.100.10").url == f"{URL}?quality=high"


def test_sha256_hash_algorithm_is_honoured(private_key: rsa.RSAPrivateKey, verifier: EdgePolicyVerifier) -> None:
    policy = {"Statement": [{"Resource": URL, "Condition": {"DateLessThan": {"AWS:EpochTime": NOW + 60}}}]}
    url = _hand_signed(private_key, policy, algorithm=hashes.SHA256(), extra="&Hash-Algorithm=SHA256")

    assert "Hash-Algorithm=SHA256" in verifier.verify(url, source_ip="192.0.2.1").signing_query
    assert _reason(verifier, url.replace("SHA256", "MD5")) == "bad signature"
    assert _reason(verifier, url.replace("&Hash-Algorithm=SHA256", "")) == "bad signature"


@pytest.mark.parametrize(("now", "reason"), [(NOW + 300, "expired"), (NOW + 301, "expired"),
                                             (NOW - 61, "not yet valid")])
def test_time_window(signer: CloudFrontUrlSigner, verifier: EdgePolicyVerifier, now: float, reason: str) -> None:
    url = signer.sign(URL, expires_at=NOW + 300, not_before=NOW - 60)

    assert _reason(verifier, url, now=now) == reason
    assert verifier.verify(url, source_ip="192.0.2.1", now=NOW + 299).expires_at == NOW + 300
    assert verifier.verify(url, source_ip="192.0.2.1", now=NOW - 60).not_before == NOW - 60


def test_expired_by_the_default_clock(signer: CloudFrontUrlSigner, verifier: EdgePolicyVerifier) -> None:
    url = signer.sign(URL, expires_at=datetime.fromtimestamp(NOW - 1, UTC))

    assert _reason(verifier, url) == "expired"


@pytest.mark.parametrize(("cidr", "client"), [
    ("203.0.113.0/24", "198.51.100.7"),
    ("127.0.0.2/32", "127.0.0.1"),
    ("2001:db8:1::/48", "2001:db8:2::1"),
    ("2001:db8:1::/48", "203.0.113.7"),      # family mismatch
    ("203.0.113.0/24", "2001:db8:1::1"),
    ("203.0.113.7", "not-an-address"),
])
def test_source_ip_outside_the_range_is_denied(signer: CloudFrontUrlSigner, verifier: EdgePolicyVerifier,
                                               cidr: str, client: str) -> None:
    url = signer.sign(URL, expires_at=NOW + 60, ip_cidr=cidr)

    assert _reason(verifier, url, source_ip=client) == "source ip not allowed"


@pytest.mark.parametrize(("cidr", "client", "bound"), [
    ("203.0.113.7", "203.0.113.7", "203.0.113.7/32"),
    ("2001:db8:1::/48", "2001:db8:1:ffff::42", "2001:db8:1::/48"),
    ("2001:db8::1", "2001:db8::1", "2001:db8::1/128"),
    ("127.0.0.0/8", "::ffff:127.0.0.3", "127.0.0.0/8"),  # IPv4-mapped peer of a dual-stack socket
])
def test_source_ip_inside_the_range_is_granted(signer: CloudFrontUrlSigner, verifier: EdgePolicyVerifier,
                                               cidr: str, client: str, bound: str) -> None:
    url = signer.sign(URL, expires_at=NOW + 60, ip_cidr=cidr)

    assert verifier.verify(url, source_ip=client).source_cidr == bound


def test_tampered_policy_is_denied(signer: CloudFrontUrlSigner, verifier: EdgePolicyVerifier) -> None:
    # GIVEN a valid link whose policy is swapped for one with a later expiry (signature kept)
    url = signer.sign(URL, expires_at=NOW + 60)
    longer = signer.sign(URL, expires_at=NOW + 86_400)
    forged = url.replace(parse_qs(urlsplit(url).query)["Policy"][0], parse_qs(urlsplit(longer).query)["Policy"][0])

    # THEN / WHEN
    assert forged != url
    assert _reason(verifier, forged) == "bad signature"


def test_tampered_signature_is_denied(signer: CloudFrontUrlSigner, verifier: EdgePolicyVerifier) -> None:
    url = signer.sign(URL, expires_at=NOW + 60)
    signature = parse_qs(urlsplit(url).query)["Signature"][0]
    flipped = ("B" if signature[10] == "A" else "A").join((signature[:10], signature[11:]))

    assert _reason(verifier, url.replace(signature, flipped)) == "bad signature"
    assert _reason(verifier, url.replace(signature, signature[:-8])) == "bad signature"
    assert _reason(verifier, url.replace(signature, "not*base64")) == "bad signature"


def test_undecodable_policy_is_malformed(signer: CloudFrontUrlSigner, verifier: EdgePolicyVerifier) -> None:
    url = signer.sign(URL, expires_at=NOW + 60)
    policy = parse_qs(urlsplit(url).query)["Policy"][0]

    assert _reason(verifier, url.replace(policy, "%%%")) == "malformed policy"


def test_unknown_key_pair(signer: CloudFrontUrlSigner, verifier: EdgePolicyVerifier) -> None:
    url = signer.sign(URL, expires_at=NOW + 60).replace(f"Key-Pair-Id={KEY_ID}", "Key-Pair-Id=KOTHER")

    assert _reason(verifier, url) == "unknown key pair"


def test_another_keys_signature_is_bad(verifier: EdgePolicyVerifier) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    policy = {"Statement": [{"Resource": URL, "Condition": {"DateLessThan": {"AWS:EpochTime": NOW + 60}}}]}

    assert _reason(verifier, _hand_signed(other, policy)) == "bad signature"


@pytest.mark.parametrize("dropped", ["Policy", "Signature", "Key-Pair-Id"])
def test_missing_signing_parameter(signer: CloudFrontUrlSigner, verifier: EdgePolicyVerifier, dropped: str) -> None:
    url = signer.sign(URL, expires_at=NOW + 60)
    base, params = split_signing_params(url)
    kept = "&".join(f"{name}={values[0]}" for name, values in params.items() if name != dropped)

    assert _reason(verifier, f"{base}?{kept}") == "missing signature"
    assert _reason(verifier, URL) == "missing signature"


def test_duplicated_signing_parameter_is_malformed(signer: CloudFrontUrlSigner, verifier: EdgePolicyVerifier) -> None:
    url = signer.sign(URL, expires_at=NOW + 60)

    assert _reason(verifier, f"{url}&Key-Pair-Id={KEY_ID}") == "malformed policy"


@pytest.mark.parametrize("policy", [
    {"Statement": [{"Resource": URL, "Condition": {}}]},                                            # no DateLessThan
    {"Statement": [{"Resource": URL, "Condition": {"DateLessThan": {"AWS:EpochTime": "soon"}}}]},
    {"Statement": [{"Resource": URL, "Condition": {"DateLessThan": {"AWS:EpochTime": True}}}]},
    {"Statement": [{"Condition": {"DateLessThan": {"AWS:EpochTime": NOW + 60}}}]},                 # no Resource
    {"Statement": []},
    {"Statement": [{"Resource": URL, "Condition": {"DateLessThan": {"AWS:EpochTime": NOW + 60},
                                                   "IpAddress": {"AWS:SourceIp": "300.1.1.1/8"}}}]},
    {"Statement": [{"Resource": URL, "Condition": {"DateLessThan": {"AWS:EpochTime": NOW + 60},
                                                   "StringEquals": {"aws:Referer": "x"}}}]},
    "not json at all",
])
def test_validly_signed_but_malformed_policy(private_key: rsa.RSAPrivateKey, verifier: EdgePolicyVerifier,
                                             policy: dict[str, Any] | str) -> None:
    assert _reason(verifier, _hand_signed(private_key, policy)) == "malformed policy"


@pytest.mark.parametrize(("resource", "requested", "granted"), [
    ("https://media.example/live/cam-0001/*", "https://media.example/live/cam-0001/index.m3u8", True),
    ("https://media.example/live/cam-0001/*", "https://media.example/live/cam-0001/seg-7.ts", True),
    ("https://media.example/live/cam-0001/*", "https://media.example/live/cam-0002/seg-7.ts", False),
    ("https://media.example/live/cam-0001/*", "https://other.example/live/cam-0001/seg-7.ts", False),
    ("https://media.example/live/cam-0001/seg-?.ts", "https://media.example/live/cam-0001/seg-7.ts", True),
    ("https://media.example/live/cam-0001/seg-?.ts", "https://media.example/live/cam-0001/seg-17.ts", False),
    ("http*://media.example/*.ts", "http://media.example/a/b.ts", True),
    ("https://media.example/live/cam.0001/x", "https://media.example/live/camX0001/x", False),  # '.' is literal
])
def test_wildcard_resource(signer: CloudFrontUrlSigner, verifier: EdgePolicyVerifier,
                           resource: str, requested: str, granted: bool) -> None:
    # GIVEN one signature for a wildcard resource
    query = signer.signed_query(resource, expires_at=NOW + 60)
    url = f"{requested}?" + "&".join(f"{k}={v}" for k, v in query.items())

    # THEN it covers exactly the URLs the pattern matches
    assert resource_matches(resource, requested) is granted
    if granted:
        assert verifier.verify(url, source_ip="192.0.2.1").resource == resource
    else:
        assert _reason(verifier, url) == "resource mismatch"


def test_own_query_parameters_are_part_of_the_resource(signer: CloudFrontUrlSigner, verifier: EdgePolicyVerifier) -> None:
    url = signer.sign(f"{URL}?quality=high", expires_at=NOW + 60)

    assert verifier.verify(url, source_ip="192.0.2.1").url == f"{URL}?quality=high"
    assert _reason(verifier, url.replace("quality=high", "quality=low")) == "resource mismatch"
    assert _reason(verifier, url.replace("quality=high&", "")) == "resource mismatch"


def test_revocation_hook(signer: CloudFrontUrlSigner, private_key: rsa.RSAPrivateKey) -> None:
    # GIVEN an edge whose revocation list holds one link
    seen: list[tuple[str, dict[str, Any]]] = []

    def is_revoked(path: str, policy: dict[str, Any]) -> str | None:
        seen.append((path, policy))
        return "link deleted by operator" if path.endswith("seg-00042.ts") else None

    public_pem = private_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                       serialization.PublicFormat.SubjectPublicKeyInfo)
    url = signer.sign(URL, expires_at=NOW + 60)
    other = signer.sign(URL.replace("seg-00042", "seg-00043"), expires_at=NOW + 60)

    # WHEN / THEN the revoked link is refused with the hook's reason, the other one passes
    with pytest.raises(EdgeDenied, match=r"^revoked: link deleted by operator$"):
        verify_signed_url(url, public_keys={KEY_ID: public_pem}, source_ip="192.0.2.1", now=NOW, is_revoked=is_revoked)
    verify_signed_url(other, public_keys={KEY_ID: public_pem}, source_ip="192.0.2.1", now=NOW, is_revoked=is_revoked)
    assert seen[0][0] == "/footage/cam-0001/2027/01/15/seg-00042.ts"
    assert seen[0][1]["Statement"][0]["Resource"] == URL


def test_signer_keeps_the_existing_query_and_fragment(signer: CloudFrontUrlSigner, verifier: EdgePolicyVerifier) -> None:
    url = signer.sign(f"{URL}?a=1#t=5", expires_at=NOW + 60)

    assert url.startswith(f"{URL}?a=1&Policy=")
    assert url.endswith("#t=5")
    assert verifier.verify(url.split("#")[0], source_ip="192.0.2.1").url == f"{URL}?a=1"


def test_signer_rejects_ambiguous_times(signer: CloudFrontUrlSigner) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        signer.sign(URL, expires_at=datetime(2027, 1, 1))  # naive: the point of the test
    with pytest.raises(ValueError, match="earlier"):
        signer.sign(URL, expires_at=NOW, not_before=NOW)


def test_signed_query_matches_sign(signer: CloudFrontUrlSigner) -> None:
    query = signer.signed_query(URL, expires_at=NOW + 60, ip_cidr="2001:db8::/32")

    assert list(query) == ["Policy", "Signature", "Key-Pair-Id"]
    assert signer.sign(URL, expires_at=NOW + 60, ip_cidr="2001:db8::/32").endswith(
        "?" + "&".join(f"{k}={v}" for k, v in query.items()))
