"""Credentials taken away (disable, rotate, delete, expiry) are refused by every process within a
second, although each process caches verified tokens for 30 s."""

from __future__ import annotations

import json
import time

import pytest

from chalicelib import cli
from chalicelib.errors import Unauthorized
from chalicelib.models.principal import PrincipalKind
from chalicelib.services.principals import PrincipalDirectory


def seconds_until_refused(directory: PrincipalDirectory, token: str, limit_s: float = 5.0) -> float:
    """Poll ``directory`` (another process's view) until it refuses ``token``; the seconds it took."""
    started = time.monotonic()
    while time.monotonic() - started < limit_s:
        try:
            directory.authenticate(f"Bearer {token}")
        except Unauthorized:
            return time.monotonic() - started
        time.sleep(0.02)
    return float("inf")


@pytest.fixture
def processes(aws):
    """Two API processes (each with its own 30 s token cache) and the admin's, on one table."""
    table = aws.table("principals")
    return PrincipalDirectory(table), PrincipalDirectory(table), PrincipalDirectory(table)


def test_a_disabled_token_is_refused_everywhere_within_a_second(processes):
    api_a, api_b, admin = processes
    _, token = admin.create(PrincipalKind.APP, "Phone", principal_id="app-1")
    # GIVEN both API processes have the token cached
    for api in (api_a, api_b):
        assert api.authenticate(f"Bearer {token}").principal_id == "app-1"
    # WHEN the admin disables the principal
    admin.disable("app-1")
    # THEN each process refuses it within a second, though its cache would keep it for 30 s
    assert seconds_until_refused(api_a, token) < 1.0
    assert seconds_until_refused(api_b, token) < 1.0
    admin.enable("app-1")
    assert api_a.authenticate(f"Bearer {token}").principal_id == "app-1"


def test_a_rotated_token_is_refused_and_the_new_one_works(processes):
    api, _, admin = processes
    _, old = admin.create(PrincipalKind.OPERATOR, "Operator", principal_id="op-1")
    api.authenticate(f"Bearer {old}")
    new = admin.rotate("op-1")
    assert seconds_until_refused(api, old) < 1.0
    assert api.authenticate(f"Bearer {new}").principal_id == "op-1"


def test_a_deleted_principal_is_refused_within_a_second(processes):
    api, _, admin = processes
    _, token = admin.create(PrincipalKind.AGENCY, "Police", principal_id="police-1")
    api.authenticate(f"Bearer {token}")
    admin.delete("police-1")
    assert seconds_until_refused(api, token) < 1.0
    assert [p.principal_id for p in admin.all()] == []


def test_a_token_stops_at_its_expiry_even_when_cached(aws):
    now = [1_000.0]
    directory = PrincipalDirectory(aws.table("principals"), clock=lambda: now[0])
    _, token = directory.create(PrincipalKind.APP, "Phone", principal_id="app-2", expires_ms=1_060_000)
    assert directory.authenticate(f"Bearer {token}").principal_id == "app-2"
    now[0] = 1_059.9
    assert directory.authenticate(f"Bearer {token}").principal_id == "app-2"
    now[0] = 1_060.0
    with pytest.raises(Unauthorized, match="expired"):
        directory.authenticate(f"Bearer {token}")


def test_the_admin_cli_disables_rotates_and_sets_expiry(aws, capsys):
    # GIVEN a principal created with the CLI, expiring in an hour
    assert cli.main(["principal", "create", "--kind", "app", "--name", "Phone", "--id", "app-cli",
                     "--expires-in", "3600"]) == 0
    token = json.loads(capsys.readouterr().out)["token"]
    api = PrincipalDirectory(aws.table("principals"))
    principal = api.authenticate(f"Bearer {token}")
    assert principal.expires_ms is not None
    assert 3590_000 < principal.expires_ms - time.time() * 1000 <= 3600_000
    # WHEN it is rotated THEN a new token is printed, the old one is refused
    assert cli.main(["principal", "rotate", "--id", "app-cli"]) == 0
    rotated = json.loads(capsys.readouterr().out)["token"]
    assert seconds_until_refused(api, token) < 1.0
    assert api.authenticate(f"Bearer {rotated}").expires_ms is None
    # WHEN it is disabled THEN the new token is refused too, and the listing says so
    assert cli.main(["principal", "disable", "--id", "app-cli"]) == 0
    assert seconds_until_refused(api, rotated) < 1.0
    capsys.readouterr()
    assert cli.main(["principal", "list"]) == 0
    assert "disabled" in capsys.readouterr().out
    # AND an unknown id is an error, not a crash
    assert cli.main(["principal", "disable", "--id", "nobody-here"]) == 2
