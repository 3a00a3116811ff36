"""Sign-in tokens from the console's Cognito user pool: ID tokens verified against the pool's published keys.

What AWS documents for verifying a user pool token: an RS256 signature by a key of the pool's JWKS
(``<issuer>/.well-known/jwks.json``, picked by ``kid``), ``iss`` the pool, ``aud`` one of our app clients,
``token_use`` ``id``, and ``exp`` in the future. The keys are fetched once per container and again only
for a ``kid`` not seen yet (the pool rotated its keys), at most once a minute.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Callable, Collection

from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from chalicelib.errors import TransientError, Unauthorized
from chalicelib.models.principal import SignedInUser

LEEWAY_S = 60  # clock skew tolerated on exp/iat
REFETCH_AFTER_S = 60.0


def fetch_json(url: str) -> dict[str, object]:
    with urllib.request.urlopen(url, timeout=3) as reply:  # noqa: S310 (https in the cloud, a setting locally)
        document = json.loads(reply.read())
    if not isinstance(document, dict):
        raise ValueError("a JWKS document is a JSON object")
    return document


class CognitoIdTokens:
    """Implements ``ports.SignInTokens`` for one user pool."""

    def __init__(self, issuer: str, client_ids: Collection[str], *, jwks_url: str | None = None,
                 fetch: Callable[[str], dict[str, object]] = fetch_json,
                 clock: Callable[[], float] = time.time) -> None:
        self._issuer = issuer.rstrip("/")
        self._client_ids = list(client_ids)
        self._jwks_url = jwks_url or f"{self._issuer}/.well-known/jwks.json"
        self._fetch = fetch
        self._clock = clock
        self._keys: KeySet | None = None
        self._fetched_at = float("-inf")
        self._lock = threading.Lock()

    def verify(self, token: str) -> SignedInUser:
        try:
            decoded = jwt.decode(token, self._key_set(_kid(token)), algorithms=["RS256"])
            jwt.JWTClaimsRegistry(
                now=lambda: int(self._clock()), leeway=LEEWAY_S,
                iss={"essential": True, "value": self._issuer}, aud={"essential": True, "values": self._client_ids},
                token_use={"essential": True, "value": "id"}, exp={"essential": True},
                sub={"essential": True}).validate(decoded.claims)
        except (JoseError, ValueError) as exc:
            raise Unauthorized(f"invalid sign-in token: {exc}") from exc
        claims = decoded.claims
        principal_id = claims.get("custom:principal_id")
        if not isinstance(principal_id, str) or not principal_id:
            raise Unauthorized("the sign-in token names no platform principal (custom:principal_id)")
        groups = claims.get("cognito:groups", [])
        return SignedInUser(principal_id=principal_id, username=str(claims.get("cognito:username", claims["sub"])),
                            groups=tuple(g for g in groups if isinstance(g, str)) if isinstance(groups, list) else (),
                            expires_ms=int(claims["exp"]) * 1000)

    def _key_set(self, kid: str | None) -> KeySet:
        with self._lock:
            known = self._keys is not None and (kid is None or any(k.kid == kid for k in self._keys.keys))
            if not known and self._clock() - self._fetched_at >= REFETCH_AFTER_S:
                try:
                    self._keys = KeySet.import_key_set(self._fetch(self._jwks_url))  # type: ignore[arg-type]
                except (OSError, ValueError, JoseError) as exc:
                    if self._keys is None:
                        raise TransientError(f"the user pool's signing keys could not be read: {exc}") from exc
                self._fetched_at = self._clock()
            if self._keys is None:
                raise TransientError("the user pool's signing keys are not available")
            return self._keys


def _kid(token: str) -> str | None:
    try:
        header = jws.extract_compact(token.encode()).headers()  # unverified: only to choose the key
    except (JoseError, ValueError):
        return None
    kid = header.get("kid")
    return kid if isinstance(kid, str) else None
