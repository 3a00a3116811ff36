"""A token the admin takes away is refused by the running API within a second, over real HTTP,
although the API had just verified and cached it (its cache keeps a token for 30 s)."""

from __future__ import annotations

import time
from http import HTTPStatus

import pytest
from client_support import authenticated
from golden_time_api_client.api.sos import list_incidents

from chalicelib.adapters.resources import Resources
from chalicelib.cli import create_principal
from chalicelib.models.principal import PrincipalKind
from chalicelib.services.principals import PrincipalDirectory
from chalicelib.settings import get_settings

pytestmark = pytest.mark.e2e


def seconds_until_401(client, limit_s: float = 5.0) -> float:
    started = time.monotonic()
    while time.monotonic() - started < limit_s:
        if list_incidents.sync_detailed(client=client, limit=1).status_code == HTTPStatus.UNAUTHORIZED:
            return time.monotonic() - started
        time.sleep(0.02)
    return float("inf")


@pytest.mark.parametrize("action", ["disable", "rotate", "delete"])
def test_the_api_refuses_a_withdrawn_token_within_a_second(local_platform, action):
    resources = Resources(get_settings())
    pid, token = create_principal(PrincipalKind.OPERATOR, "Operator", principal_id=f"op-cred-{action}",
                                  resources=resources)
    operator = authenticated(local_platform.api_url, token)
    # GIVEN the API has verified (and cached) the token
    assert list_incidents.sync_detailed(client=operator, limit=1).status_code == HTTPStatus.OK
    # WHEN the admin (another process: its own directory) withdraws it
    getattr(PrincipalDirectory(resources.table("principals")), action)(pid)
    # THEN the API refuses it within a second
    assert seconds_until_401(operator) < 1.0
