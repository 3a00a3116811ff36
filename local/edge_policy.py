"""Verify a CloudFront custom-policy signed URL the way the CDN edge does (the local media edge's
stand-in for CloudFront; the cloud never runs this). Pure: no I/O.

The wire format: ``Policy`` and ``Signature`` are base64 in CloudFront's URL-safe alphabet
(``+`` → ``-``, ``=`` → ``_``, ``/`` → ``~``); ``Signature`` is RSA PKCS#1 v1.5 over the exact
policy bytes, SHA-1 unless ``Hash-Algorithm=SHA256``; ``Key-Pair-Id`` names the public key.
The policy's single statement binds a ``Resource`` (``*`` any run of characters, ``?`` exactly
one) to ``DateLessThan`` (required), ``DateGreaterThan`` and ``IpAddress`` (IPv4 or IPv6 CIDR).
"""

from __future__ import annotations

import binascii
import ipaddress
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import quote, unquote, unquote_plus, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from chalicelib.errors import AppError
from chalicelib.services.video_links.live_playlists import cloudfront_b64decode

SIGNING_PARAMS = ("Policy", "Signature", "Key-Pair-Id", "Hash-Algorithm")
"""Query parameters that carry the signature; they are not part of the signed resource."""

MISSING_SIGNATURE = "missing signature"
UNKNOWN_KEY_PAIR = "unknown key pair"
BAD_SIGNATURE = "bad signature"
MALFORMED_POLICY = "malformed policy"
EXPIRED = "expired"
NOT_YET_VALID = "not yet valid"
SOURCE_IP_NOT_ALLOWED = "source ip not allowed"
RESOURCE_MISMATCH = "resource mismatch"

RevocationCheck = Callable[[str, dict[str, Any]], str | None]
"""``(url_path, policy) -> reason`` when the link was revoked, ``None`` while it stands."""

PublicKeyInput = bytes | str | rsa.RSAPublicKey

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {"SHA1": hashes.SHA1, "SHA256": hashes.SHA256}
_CONDITIONS = {"DateLessThan", "DateGreaterThan", "IpAddress"}


class EdgeDenied(AppError):
    """The edge refuses the request; ``reason`` is one of the module's reason strings."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class EdgeGrant:
    """A request that passed every check."""

    url: str
    """The requested URL without the signing parameters (what ``resource`` matched)."""
    path: str
    key_pair_id: str
    resource: str
    expires_at: int
    not_before: int | None
    source_cidr: str | None
    signing_query: str
    """``Policy=…&Signature=…&Key-Pair-Id=…`` exactly as received, to hand on to segment URIs."""
    policy: dict[str, Any] = field(repr=False)


def load_public_keys(keys: Mapping[str, PublicKeyInput]) -> dict[str, rsa.RSAPublicKey]:
    """Key-pair id → loaded RSA public key (PEM bytes/str or an already loaded key)."""
    loaded: dict[str, rsa.RSAPublicKey] = {}
    for key_id, key in keys.items():
        if isinstance(key, str):
            key = key.encode()
        public = key if isinstance(key, rsa.RSAPublicKey) else serialization.load_pem_public_key(key)
        if not isinstance(public, rsa.RSAPublicKey):
            raise ValueError(f"key pair {key_id} is not an RSA public key")
        loaded[key_id] = public
    return loaded


def split_signing_params(url: str) -> tuple[str, dict[str, list[str]]]:
    """The URL with the signing parameters removed (other parameters kept verbatim, in order),
    and the signing parameters' decoded values."""
    parts = urlsplit(url)
    kept: list[str] = []
    found: dict[str, list[str]] = {}
    for item in parts.query.split("&") if parts.query else ():
        name, _, value = item.partition("=")
        decoded = unquote_plus(name)
        if decoded in SIGNING_PARAMS:
            found.setdefault(decoded, []).append(unquote(value))
        else:
            kept.append(item)
    base = f"{parts.scheme}://{parts.netloc}{parts.path}" if parts.scheme else parts.path
    return (f"{base}?{'&'.join(kept)}" if kept else base), found


@lru_cache(maxsize=1024)
def _resource_pattern(resource: str) -> re.Pattern[str]:
    body = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in resource)
    return re.compile(body, re.DOTALL)


def resource_matches(resource: str, url: str) -> bool:
    """CloudFront wildcard match: ``*`` any run of characters, ``?`` exactly one."""
    return _resource_pattern(resource).fullmatch(url) is not None


def _epoch(condition: Mapping[str, Any], name: str) -> int | None:
    if name not in condition:
        return None
    clause = condition[name]
    if not isinstance(clause, dict) or set(clause) != {"AWS:EpochTime"}:
        raise EdgeDenied(MALFORMED_POLICY)
    value = clause["AWS:EpochTime"]
    if isinstance(value, bool) or not isinstance(value, int):
        raise EdgeDenied(MALFORMED_POLICY)
    return value


def _source_network(condition: Mapping[str, Any]) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    if "IpAddress" not in condition:
        return None
    clause = condition["IpAddress"]
    if not isinstance(clause, dict) or set(clause) != {"AWS:SourceIp"} or not isinstance(clause["AWS:SourceIp"], str):
        raise EdgeDenied(MALFORMED_POLICY)
    try:
        return ipaddress.ip_network(clause["AWS:SourceIp"], strict=False)
    except ValueError as exc:
        raise EdgeDenied(MALFORMED_POLICY) from exc


def _statement(policy: Any) -> tuple[str, dict[str, Any]]:
    """Resource and Condition of the policy's one statement, or ``malformed policy``."""
    if not isinstance(policy, dict) or set(policy) != {"Statement"}:
        raise EdgeDenied(MALFORMED_POLICY)
    statements = policy["Statement"]
    if not isinstance(statements, list) or len(statements) != 1 or not isinstance(statements[0], dict):
        raise EdgeDenied(MALFORMED_POLICY)
    statement = statements[0]
    # Stricter than CloudFront on one point: a statement without Resource (= every object the
    # key may sign for) is refused; the platform's signer always names the resource.
    if set(statement) != {"Resource", "Condition"}:
        raise EdgeDenied(MALFORMED_POLICY)
    resource, condition = statement["Resource"], statement["Condition"]
    if not isinstance(resource, str) or not resource or not isinstance(condition, dict):
        raise EdgeDenied(MALFORMED_POLICY)
    if not set(condition) <= _CONDITIONS or "DateLessThan" not in condition:
        raise EdgeDenied(MALFORMED_POLICY)
    return resource, condition


def _client_address(source_ip: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(source_ip.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


class EdgePolicyVerifier:
    """Checks signed requests against the trusted public keys (one verifier per edge)."""

    def __init__(self, public_keys: Mapping[str, PublicKeyInput], *, is_revoked: RevocationCheck | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self._keys = load_public_keys(public_keys)
        self._is_revoked = is_revoked
        self._clock = clock

    def verify(self, url: str, *, source_ip: str, now: float | None = None) -> EdgeGrant:
        """The grant for ``url`` (scheme://host/path?query as requested) from ``source_ip``,
        or ``EdgeDenied`` with the first check that failed."""
        stripped, params = split_signing_params(url)
        if any(len(values) > 1 for values in params.values()):
            raise EdgeDenied(MALFORMED_POLICY)
        values = {name: found[0] for name, found in params.items()}
        policy_b64, signature_b64, key_id = (values.get(name, "") for name in SIGNING_PARAMS[:3])
        if not (policy_b64 and signature_b64 and key_id):
            raise EdgeDenied(MISSING_SIGNATURE)
        public_key = self._keys.get(key_id)
        if public_key is None:
            raise EdgeDenied(UNKNOWN_KEY_PAIR)
        algorithm = _HASHES.get(values.get("Hash-Algorithm", "SHA1"))
        if algorithm is None:
            raise EdgeDenied(BAD_SIGNATURE)
        try:
            policy_bytes = cloudfront_b64decode(policy_b64)
        except (ValueError, binascii.Error) as exc:
            raise EdgeDenied(MALFORMED_POLICY) from exc
        try:
            signature = cloudfront_b64decode(signature_b64)
            public_key.verify(signature, policy_bytes, padding.PKCS1v15(), algorithm())
        except (ValueError, binascii.Error, InvalidSignature) as exc:
            raise EdgeDenied(BAD_SIGNATURE) from exc
        try:
            policy = json.loads(policy_bytes)
        except ValueError as exc:  # includes UnicodeDecodeError and JSONDecodeError
            raise EdgeDenied(MALFORMED_POLICY) from exc
        resource, condition = _statement(policy)
        expires_at = _epoch(condition, "DateLessThan")
        not_before = _epoch(condition, "DateGreaterThan")
        network = _source_network(condition)
        assert expires_at is not None  # _statement requires DateLessThan

        if not resource_matches(resource, stripped):
            raise EdgeDenied(RESOURCE_MISMATCH)
        moment = self._clock() if now is None else now
        if moment >= expires_at:
            raise EdgeDenied(EXPIRED)
        if not_before is not None and moment < not_before:
            raise EdgeDenied(NOT_YET_VALID)
        if network is not None:
            client = _client_address(source_ip)
            if client is None or client.version != network.version or client not in network:
                raise EdgeDenied(SOURCE_IP_NOT_ALLOWED)
        path = urlsplit(stripped).path
        if self._is_revoked is not None:
            revoked = self._is_revoked(path, policy)
            if revoked:
                raise EdgeDenied(revoked if revoked.startswith("revoked") else f"revoked: {revoked}")
        signing_query = "&".join(f"{name}={quote(values[name], safe='-_~')}" for name in SIGNING_PARAMS if name in values)
        return EdgeGrant(url=stripped, path=path, key_pair_id=key_id, resource=resource, expires_at=expires_at,
                         not_before=not_before, source_cidr=None if network is None else str(network),
                         signing_query=signing_query, policy=policy)


def verify_signed_url(url: str, *, public_keys: Mapping[str, PublicKeyInput], source_ip: str,
                      now: float | None = None, is_revoked: RevocationCheck | None = None) -> EdgeGrant:
    """One-off verification; an edge serving many requests keeps an ``EdgePolicyVerifier``."""
    return EdgePolicyVerifier(public_keys, is_revoked=is_revoked).verify(url, source_ip=source_ip, now=now)
