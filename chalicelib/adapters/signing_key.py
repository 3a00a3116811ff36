"""The CloudFront URL-signing private key: a local PEM file, or a Secrets Manager secret in the cloud."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chalicelib.adapters.cloudfront import CloudFrontUrlSigner
from chalicelib.adapters.secrets import load_secret
from chalicelib.settings import Settings


def load_signing_key(secret: str | None, secretsmanager: Any | None = None) -> bytes:
    """PEM bytes from ``secret``: an existing file path, else a Secrets Manager secret id."""
    return load_secret(secret, secretsmanager, what="URL-signing key", setting="SIGNING_KEY_SECRET")


def signer_from_settings(settings: Settings, secretsmanager_factory: Any = None) -> CloudFrontUrlSigner:
    secret = settings.signing_key_secret
    client = None
    if secret and not Path(secret).is_file() and secretsmanager_factory is not None:
        client = secretsmanager_factory()
    return CloudFrontUrlSigner(settings.cloudfront_key_pair_id, load_signing_key(secret, client))
