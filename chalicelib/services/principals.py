"""Principals and their API tokens.

A token is ``gt.<principal_id>.<secret>``; only the SHA-256 of the whole token is stored, so a
leaked table grants nothing. Verified tokens are cached briefly to keep the hot path off the table.

Every change that takes a credential away (disable, rotate, delete) writes a new *credentials
version* into the same table. Each process re-reads that one item at most every
``version_check_s`` and trusts a cached token only while the version it was verified under is still
current, so a withdrawn token is refused by every process within a second, at the cost of one small
read per second per process.

People may also sign in through the console's user pool: its ID token (a JWT) names the principal whose
grants apply (``custom:principal_id``); the user must be in the pool group of that principal's kind, and the
principal must exist and be enabled. Only people's kinds sign in this way; apps and admins use tokens.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from chalicelib.errors import ConditionFailed, Unauthorized, ValidationFailed
from chalicelib.models.principal import Principal, PrincipalKind
from chalicelib.ports import SignInTokens, Table

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


VERSION_KEY = {"principal_id": "~credentials-version"}  # "~" is outside principal ids' alphabet
SIGN_IN_GROUPS = {"operators": PrincipalKind.OPERATOR, "health-centers": PrincipalKind.HEALTH_CENTER,
                  "agencies": PrincipalKind.AGENCY}
"""The user pool's groups (infra/stacks/console.py) and the principal kind each lets a person act as."""


def is_sign_in_token(token: str) -> bool:
    """A JWT (three base64url parts, a JSON header) rather than one of our ``gt.`` tokens."""
    return token.startswith("eyJ") and token.count(".") == 2


@dataclass(frozen=True)
class _Cached:
    until: float
    version: str
    principal: Principal


class PrincipalDirectory:
    def __init__(self, table: Table, *, cache_seconds: float = 30.0, version_check_s: float = 0.5,
                 clock: Callable[[], float] = time.time, sign_in: SignInTokens | None = None) -> None:
        self._table = table
        self._sign_in = sign_in
        self._cache_seconds = cache_seconds
        self._version_check_s = version_check_s
        self._clock = clock
        self._cache: dict[str, _Cached] = {}
        self._version: tuple[float, str] | None = None  # (read at, value)
        self._lock = threading.Lock()

    def create(self, kind: PrincipalKind, name: str, *, principal_id: str | None = None,
               cidrs: Iterable[str] = (), attributes: dict[str, str] | None = None,
               expires_ms: int | None = None) -> tuple[Principal, str]:
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
                                  created_ms=int(self._clock() * 1000), expires_ms=expires_ms)
        except ValueError as exc:
            raise ValidationFailed(str(exc)) from exc
        try:
            self._table.put(principal.model_dump(mode="json"), if_absent=True)
        except ConditionFailed as exc:
            raise ValidationFailed(f"principal {pid} already exists") from exc
        return principal, token

    def rotate(self, principal_id: str, *, expires_ms: int | None = None) -> str:
        """Issue a new token (optionally expiring); the old one is refused everywhere within a second."""
        token = new_token(principal_id)
        self._change(principal_id, token_hash=_hash(token), expires_ms=expires_ms)
        return token

    def disable(self, principal_id: str) -> Principal:
        """Refuse the principal's token everywhere within a second (the record stays, for the audit)."""
        return self._change(principal_id, disabled=True)

    def enable(self, principal_id: str) -> Principal:
        return self._change(principal_id, disabled=False)

    def delete(self, principal_id: str) -> None:
        if self.get(principal_id) is None:
            raise ValidationFailed(f"no principal {principal_id}")
        self._table.delete({"principal_id": principal_id})
        self._bump_version()

    def _change(self, principal_id: str, **update: object) -> Principal:
        principal = self.get(principal_id)
        if principal is None:
            raise ValidationFailed(f"no principal {principal_id}")
        changed = principal.model_copy(update=update)
        self._table.put(changed.model_dump(mode="json"))
        self._bump_version()
        return changed

    def _bump_version(self) -> None:
        version = secrets.token_hex(8)
        self._table.put({**VERSION_KEY, "version": version})
        with self._lock:
            self._cache.clear()
            self._version = (self._clock(), version)

    def _current_version(self, now: float) -> str:
        """The credentials version, re-read at most every ``version_check_s``."""
        with self._lock:
            known = self._version
        if known is not None and now - known[0] < self._version_check_s:
            return known[1]
        item = self._table.get(VERSION_KEY)
        version = str(item["version"]) if item else ""
        with self._lock:
            self._version = (now, version)
        return version

    def get(self, principal_id: str) -> Principal | None:
        item = self._table.get({"principal_id": principal_id})
        return None if item is None or "kind" not in item else Principal.model_validate(item)

    def all(self) -> list[Principal]:
        principals = (Principal.model_validate(i) for i in self._table.scan() if "kind" in i)
        return sorted(principals, key=lambda p: p.principal_id)

    def authenticate(self, authorization: str | None) -> Principal:
        """The principal behind an ``Authorization: Bearer <token>`` header, or Unauthorized."""
        if not authorization:
            raise Unauthorized("missing bearer token")
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("expected 'Authorization: Bearer <token>'")
        if is_sign_in_token(token):
            return self._signed_in(token)
        pid = principal_id_of(token)
        if pid is None:
            raise Unauthorized("malformed token")
        digest = _hash(token)
        now = self._clock()
        version = self._current_version(now)
        with self._lock:
            cached = self._cache.get(digest)
        if cached and cached.until > now and cached.version == version:
            principal = cached.principal
        else:
            found = self.get(pid)
            if found is None or found.disabled or not hmac.compare_digest(found.token_hash, digest):
                raise Unauthorized("invalid token")
            principal = found
            with self._lock:
                self._cache[digest] = _Cached(until=now + self._cache_seconds, version=version, principal=principal)
        if principal.expired(int(now * 1000)):
            raise Unauthorized("token expired")
        return principal

    def _signed_in(self, token: str) -> Principal:
        """The principal a user pool ID token acts as (cached until the token or the cache expires)."""
        if self._sign_in is None:
            raise Unauthorized("sign-in tokens are not accepted here: use an API token")
        digest, now = _hash(token), self._clock()
        version = self._current_version(now)
        with self._lock:
            cached = self._cache.get(digest)
        if cached and cached.until > now and cached.version == version:
            return cached.principal
        user = self._sign_in.verify(token)
        principal = self.get(user.principal_id)
        if principal is None or principal.disabled:
            raise Unauthorized(f"no enabled principal {user.principal_id} for user {user.username}")
        if principal.kind not in {SIGN_IN_GROUPS[g] for g in user.groups if g in SIGN_IN_GROUPS}:
            raise Unauthorized(f"user {user.username} is in no group that may act as a {principal.kind.value}")
        until = min(now + self._cache_seconds, user.expires_ms / 1000)
        with self._lock:
            self._cache[digest] = _Cached(until=until, version=version, principal=principal)
        return principal
