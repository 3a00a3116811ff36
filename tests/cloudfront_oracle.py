"""A test oracle: CloudFront's check of a custom-policy signed URL, written from AWS's documentation.

Written from "Create a signed URL using a custom policy" and "Use signed URLs" in the Amazon
CloudFront Developer Guide, NOT from the project's signer or edge (do not import them here):

* The signed URL is the base URL (the object's URL with its own query string, if any) followed
  by ``Policy``, ``Signature`` and ``Key-Pair-Id`` (and optionally ``Hash-Algorithm=SHA256``).
* ``Policy`` is the policy statement in JSON (white space allowed), base64-encoded with ``+``
  replaced by ``-``, ``=`` by ``_`` and ``/`` by ``~``; ``Signature`` is an RSA signature of the
  policy bytes with SHA-1 (SHA-256 when ``Hash-Algorithm=SHA256``), encoded the same way.
* The statement: ``Resource`` — the base URL, query string included; ``*`` matches zero or more
  characters and ``?`` exactly one, anywhere in it. ``Condition``: ``DateLessThan`` (required)
  — access only before that Unix time; ``DateGreaterThan`` (optional) — access only on or
  after it; ``IpAddress`` (optional) — ``AWS:SourceIp`` one IPv4 or IPv6 CIDR that the viewer's
  address must be in.
"""

from __future__ import annotations

import base64
import ipaddress
import json
from dataclasses import dataclass
from urllib.parse import unquote

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

_CLOUDFRONT_TO_STANDARD = str.maketrans({"-": "+", "_": "=", "~": "/"})
_SIGNING_NAMES = ("Policy", "Signature", "Key-Pair-Id", "Hash-Algorithm")


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    why: str


def wildcard_match(pattern: str, text: str) -> bool:
    """``*`` any run (possibly empty), ``?`` exactly one character; everything else literal.
    Dynamic programming over both strings (no regular expressions)."""
    previous = [True] + [False] * len(text)
    for symbol in pattern:
        current = [previous[0] and symbol == "*"] + [False] * len(text)
        for t_index in range(1, len(text) + 1):
            if symbol == "*":
                current[t_index] = previous[t_index] or current[t_index - 1]
            else:
                current[t_index] = previous[t_index - 1] and (symbol == "?" or symbol == text[t_index - 1])
        previous = current
    return previous[-1]


def _cloudfront_b64(value: str) -> bytes:
    standard = value.translate(_CLOUDFRONT_TO_STANDARD)
    return base64.b64decode(standard + "=" * (-len(standard) % 4), validate=True)


def _split(url: str) -> tuple[str, dict[str, str]]:
    """The base URL (signing parameters removed, the rest of the query kept in order) and the
    signing parameters."""
    base, _, query = url.partition("?")
    kept, signing = [], {}
    for item in query.split("&") if query else []:
        name = item.split("=", 1)[0]
        if name in _SIGNING_NAMES:
            if name in signing:
                raise ValueError(f"{name} given twice")
            signing[name] = unquote(item.split("=", 1)[1] if "=" in item else "")
        else:
            kept.append(item)
    return (f"{base}?{'&'.join(kept)}" if kept else base), signing


def check(url: str, *, viewer_ip: str, now: int, public_keys: dict[str, bytes]) -> Verdict:
    """Would CloudFront serve ``url`` to ``viewer_ip`` at Unix time ``now``?"""
    try:
        base, signing = _split(url)
    except ValueError as exc:
        return Verdict(False, str(exc))
    if not {"Policy", "Signature", "Key-Pair-Id"} <= set(signing):
        return Verdict(False, "not signed with a custom policy")
    pem = public_keys.get(signing["Key-Pair-Id"])
    if pem is None:
        return Verdict(False, "key not in the trusted key group")
    key = serialization.load_pem_public_key(pem)
    assert isinstance(key, rsa.RSAPublicKey)
    digest: hashes.HashAlgorithm = hashes.SHA256() if signing.get("Hash-Algorithm") == "SHA256" else hashes.SHA1()
    try:
        policy_bytes = _cloudfront_b64(signing["Policy"])
        key.verify(_cloudfront_b64(signing["Signature"]), policy_bytes, padding.PKCS1v15(), digest)
        statement = json.loads(policy_bytes)["Statement"][0]
    except (ValueError, InvalidSignature, KeyError, IndexError, TypeError) as exc:
        return Verdict(False, f"signature or policy invalid ({type(exc).__name__})")
    condition = statement.get("Condition", {})
    if "Resource" in statement and not wildcard_match(statement["Resource"], base):
        return Verdict(False, "resource does not match")
    if "DateLessThan" not in condition:
        return Verdict(False, "DateLessThan is required")
    if not now < int(condition["DateLessThan"]["AWS:EpochTime"]):
        return Verdict(False, "expired")
    if "DateGreaterThan" in condition and not now >= int(condition["DateGreaterThan"]["AWS:EpochTime"]):
        return Verdict(False, "not yet valid")
    if "IpAddress" in condition:
        network = ipaddress.ip_network(condition["IpAddress"]["AWS:SourceIp"])
        viewer = ipaddress.ip_address(viewer_ip)
        if viewer.version != network.version or viewer not in network:
            return Verdict(False, "viewer address outside IpAddress")
    return Verdict(True, "allowed")


def resource_of(url: str) -> str:
    """The ``Resource`` of a signed URL's policy (no verification)."""
    _, signing = _split(url)
    return str(json.loads(_cloudfront_b64(signing["Policy"]))["Statement"][0]["Resource"])


def with_path(url: str, new_path_and_query: str) -> str:
    """The same signing parameters on another object: what a viewer tries to stretch a link to."""
    _, signing = _split(url)
    scheme_host = url.split("/", 3)[:3]
    sep = "&" if "?" in new_path_and_query else "?"
    return "/".join(scheme_host) + new_path_and_query + sep + "&".join(f"{k}={v}" for k, v in signing.items())
