"""People's sign-in: the console's user pool when one is configured."""

from __future__ import annotations

from chalicelib.adapters.cognito import CognitoIdTokens
from chalicelib.ports import SignInTokens
from chalicelib.settings import Settings


def build_sign_in(settings: Settings) -> SignInTokens | None:
    if not settings.sign_in_issuer:
        return None
    client_ids = [c.strip() for c in (settings.sign_in_client_ids or "").split(",") if c.strip()]
    if not client_ids:
        raise ValueError("SIGN_IN_ISSUER is set without SIGN_IN_CLIENT_IDS: no token could name our clients")
    return CognitoIdTokens(settings.sign_in_issuer, client_ids, jwks_url=settings.sign_in_jwks_url)
