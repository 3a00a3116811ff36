"""The typed API client, generated from the committed openapi.json by openapi-python-client (pinned in
requirements-dev.txt, which every make target installs), as a client team would: the demos and the end-to-end
tests call the API through it, so the contract is proven usable. Generated on first use into
build/clients/<hash of openapi.json and the settings>/ (ignored; ``make client`` does the same, offline), so it
can never drift from the contract. Import its modules (``golden_time_api_client...``) after ``api_client()``."""

from __future__ import annotations

import fcntl
import hashlib
import importlib
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CONTRACT = ROOT / "openapi.json"
CONFIG = ROOT / "clients" / "openapi-python-client.yaml"
PACKAGE = "golden_time_api_client"


def client_dir() -> Path:
    digest = hashlib.sha256(CONTRACT.read_bytes() + CONFIG.read_bytes()).hexdigest()[:12]
    return ROOT / "build" / "clients" / digest


def generate() -> Path:
    """Generate the client for the current contract unless already there (safe across processes)."""
    target = client_dir()
    target.parent.mkdir(parents=True, exist_ok=True)
    with (target.parent / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target / PACKAGE / "client.py").is_file():
            generator = Path(sys.executable).with_name("openapi-python-client")  # the venv's, pinned
            subprocess.run([str(generator), "generate", "--path", str(CONTRACT),  # noqa: S603 - our own files
                            "--output-path", str(target), "--config", str(CONFIG), "--overwrite"],
                           check=True, capture_output=True, timeout=300)
    return target


def api_client() -> ModuleType:
    """The generated package, importable (``golden_time_api_client``)."""
    target = str(generate())
    if target not in sys.path:
        sys.path.insert(0, target)
    return importlib.import_module(PACKAGE)


def authenticated(base_url: str, token: str, source: str = "127.0.0.1", prefix: str = "Bearer",
                  timeout_s: float = 60.0) -> Any:
    """The generated client, authenticated with ``token`` (``prefix`` its scheme), calling from ``source`` (a
    loopback address: agencies are bound to theirs); unexpected statuses raise, as a client team would configure it."""
    import httpx

    client = api_client()
    return client.AuthenticatedClient(base_url=base_url, token=token, prefix=prefix, raise_on_unexpected_status=True,
                                      timeout=httpx.Timeout(timeout_s),
                                      httpx_args={"transport": httpx.HTTPTransport(local_address=source)})


def anonymous(base_url: str, source: str = "127.0.0.1", timeout_s: float = 60.0) -> Any:
    """The generated client without a token (what an unauthenticated caller sends); unexpected statuses raise."""
    import httpx

    client = api_client()
    return client.Client(base_url=base_url, raise_on_unexpected_status=True, timeout=httpx.Timeout(timeout_s),
                         httpx_args={"transport": httpx.HTTPTransport(local_address=source)})
