"""Principals and their API tokens.

A token is ``gt.<principal_id>.<secret>``; only the SHA-256 of the whole token is stored, so a
leaked table grants nothing. Verified tokens are cached briefly to keep the hot path off the table.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import threading
import time
from collections.abc import Callable, Iterable

from chalicelib.errors import ConditionFailed, Unauthorized, ValidationFailed
from chalicelib.models.principal import Principal, PrincipalKind
from chalicelib.ports import Table

_PREFIX = "gt"
WIDEST_AGENCY_PREFIX = {4: 16, 6: 48}
"""An agency's registered range may be no wider than a /16 (IPv4) or a /48 (IPv6): an agency is a
building or a network, never a whole provider, so its links stay bound to it."""


def check_agency_ranges(cidrs: Iterable[str]) -> None:
    """An agency needs at least one range, each no wider than :data:`WIDEST_AGENCY_PREFIX`."""
    ranges = list(cidrs)
    if not ranges:
        raise ValidationFailed("an agency must be registered with at least one CIDR range (--cidr)",
                               code="agency_without_cidr")
    for cidr in ranges:
        network = ipaddress.ip_network(cidr, strict=False)
        widest = WIDEST_AGENCY_PREFIX[network.version]
        if network.prefixlen < widest:
            raise ValidationFailed(f"range {cidr} is wider than /{widest}, the widest an agency may register",
                                   code="agency_cidr_too_wide")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token(principal_id: str) -> str:
    return f"{_PREFIX}.{principal_id}.{secrets.token_urlsafe(32)}"


def principal_id_of(token: str) -> str | None:
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != _PREFIX or not parts[1] or len(parts[2]) < 20:
        return None
    return parts[1]


class PrincipalDirectory:
    def __init__(self, table: Table, *, cache_seconds: float = 30.0,
                 clock: Callable[[], float] = time.time) -> None:
        self._table = table
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._cache: dict[str, tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    def create(self, kind: PrincipalKind, name: str, *, principal_id: str | None = None,
               cidrs: Iterable[str] = (), attributes: dict[str, str] | None = None) -> tuple[Principal, str]:
        """Register a principal; returns it with its token (shown once, never stored)."""
        pid = principal_id or f"{kind.value}-{secrets.token_hex(4)}"
        cidrs = tuple(cidrs)
        if kind is PrincipalKind.AGENCY:
            try:
                check_agency_ranges(cidrs)
            except ValueError as exc:
                raise ValidationFailed(f"bad CIDR range: {exc}") from exc
        token = new_token(pid)
        try:
            principal = Principal(principal_id=pid, kind=kind, name=name, cidrs=tuple(cidrs),
                                  attributes=attributes or {}, token_hash=_hash(token),
                                  created_ms=int(self._clock() * 1000))
        except ValueError as exc:
            raise ValidationFailed(str(exc)) from exc
        try:
            self._table.put(principal.model_dump(mode="json"), if_absent=True)
        except ConditionFailed as exc:
            raise ValidationFailed(f"principal {pid} already exists") from exc
        return principal, token

    def rotate(self, principal_id: str) -> str:
        """Issue a new token; the old one stops working once caches expire."""
        principal = self.get(principal_id)
        if principal is None:
            raise ValidationFailed(f"no principal {principal_id}")
        token = new_token(principal_id)
        self._table.put(principal.model_copy(update={"token_hash": _hash(token)}).model_dump(mode="json"))
        with self._lock:
            self._cache.clear()
        return token

    def get(self, principal_id: str) -> Principal | None:
        item = self._table.get({"principal_id": principal_id})
        return None if item is None else Principal.model_validate(item)

    def all(self) -> list[Principal]:
        return sorted((Principal.model_validate(i) for i in self._table.scan()), key=lambda p: p.principal_id)

    def authenticate(self, authorization: str | None) -> Principal:
        """The principal behind an ``Authorization: Bearer <token>`` header, or Unauthorized."""
        if not authorization:
            raise Unauthorized("missing bearer token")
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("expected 'Authorization: Bearer <token>'")
        pid = principal_id_of(token)
        if pid is None:
            raise Unauthorized("malformed token")
        digest = _hash(token)
        now = self._clock()
        with self._lock:
            cached = self._cache.get(digest)
        if cached and cached[0] > now:
            return cached[1]
        principal = self.get(pid)
        if principal is None or principal.disabled or not hmac.compare_digest(principal.token_hash, digest):
            raise Unauthorized("invalid token")
        with self._lock:
            self._cache[digest] = (now + self._cache_seconds, principal)
        return principal
