"""CloudFront signed URLs with a custom policy (expiry, optional start time and source CIDR)."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urldefrag

from botocore.signers import CloudFrontSigner
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

Moment = datetime | int
"""An aware ``datetime`` or whole epoch seconds."""

SIGNING_PARAMS = ("Policy", "Signature", "Key-Pair-Id")


def _epoch(moment: Moment, name: str) -> int:
    if isinstance(moment, datetime):
        if moment.tzinfo is None:
            raise ValueError(f"{name} must be timezone-aware (a naive datetime is ambiguous)")
        return int(moment.timestamp())
    if isinstance(moment, bool) or not isinstance(moment, int):
        raise TypeError(f"{name} must be a datetime or epoch seconds")
    return moment


def _cidr(ip_cidr: str) -> str:
    """``10.1.2.3`` → ``10.1.2.3/32``, ``2001:db8::/32`` stays; host bits are cleared."""
    return str(ipaddress.ip_network(ip_cidr.strip(), strict=False))


class CloudFrontUrlSigner:
    """Signs URLs the way CloudFront verifies them: RSA PKCS#1 v1.5 over SHA-1 of the policy."""

    def __init__(self, key_pair_id: str, private_key_pem: bytes) -> None:
        key = serialization.load_pem_private_key(private_key_pem, password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError("CloudFront signing needs an RSA private key")
        self._key = key
        self.key_pair_id = key_pair_id
        self._signer = CloudFrontSigner(key_pair_id, self._rsa_sign)

    def _rsa_sign(self, message: bytes) -> bytes:
        # CloudFront requires SHA-1 for the signature over the policy.
        return self._key.sign(message, padding.PKCS1v15(), hashes.SHA1())  # noqa: S303

    def policy(self, resource: str, *, expires_at: Moment, not_before: Moment | None = None,
               ip_cidr: str | None = None) -> str:
        """The compact custom-policy JSON that is signed (``Resource`` may hold ``*`` / ``?``)."""
        expires = _epoch(expires_at, "expires_at")
        starts = None if not_before is None else _epoch(not_before, "not_before")
        if starts is not None and starts >= expires:
            raise ValueError("not_before must be earlier than expires_at")
        policy: str = self._signer.build_policy(
            resource,
            datetime.fromtimestamp(expires, UTC),
            date_greater_than=None if starts is None else datetime.fromtimestamp(starts, UTC),
            ip_address=None if ip_cidr is None else _cidr(ip_cidr),
        )
        return policy

    def sign(self, url: str, *, expires_at: Moment, not_before: Moment | None = None,
             ip_cidr: str | None = None, resource: str | None = None) -> str:
        """``url`` with ``Policy``, ``Signature`` and ``Key-Pair-Id`` appended to its query.

        ``resource`` defaults to ``url`` (query included, fragment dropped); a wildcard such as
        ``https://host/live/cam1/*`` lets one signature cover a playlist and its segments.
        """
        base, fragment = urldefrag(url)
        policy = self.policy(base if resource is None else resource, expires_at=expires_at,
                             not_before=not_before, ip_cidr=ip_cidr)
        signed: str = self._signer.generate_presigned_url(base, policy=policy)
        return f"{signed}#{fragment}" if fragment else signed

    def signed_query(self, resource: str, *, expires_at: Moment, not_before: Moment | None = None,
                     ip_cidr: str | None = None) -> dict[str, str]:
        """Only the three signing parameters (ordered), to append to segment URIs of a playlist."""
        policy = self.policy(resource, expires_at=expires_at, not_before=not_before, ip_cidr=ip_cidr)
        query: str = self._signer.generate_presigned_url("", policy=policy)
        return dict(parse_qsl(query.lstrip("?"), keep_blank_values=True, strict_parsing=True))
