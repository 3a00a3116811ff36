"""The typed API client the end-to-end tests use: the one the demos use (local/api_client.py), generated from the
committed openapi.json by openapi-python-client on first use, so it can never drift from the contract."""

from __future__ import annotations

from local.api_client import anonymous, api_client, authenticated, client_dir, generate

__all__ = ["anonymous", "api_client", "authenticated", "client_dir", "generate"]
