"""People sign in to the console through a Cognito user pool; the API maps the pool's ID token to the
platform principal it names. The tokens here are issued by moto's Cognito (its own signing key, claims as
Cognito sets them) and the keys are read over HTTP from a loopback server publishing moto's JWKS, as
Cognito publishes ``/.well-known/jwks.json``: nothing here is signed by our code."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import moto.cognitoidp
import pytest
from loopback_support import Answer, serve_get

from chalicelib.adapters.cognito import CognitoIdTokens
from chalicelib.errors import Unauthorized
from chalicelib.models.principal import PrincipalKind
from chalicelib.services.principals import PrincipalDirectory

JWKS = json.loads(gzip.decompress((Path(moto.cognitoidp.__file__).parent / "resources" / "jwks-public.json.gz")
                                  .read_bytes()))
PASSWORD = "Correct-horse-7!"


class KeyServer:
    """Publishes the pool's keys at ``/<pool id>/.well-known/jwks.json`` and counts the reads."""

    def __init__(self) -> None:
        self.reads = 0
        self.httpd = serve_get(self._answer)

    def _answer(self, path: str) -> Answer:
        self.reads += 1
        if path.endswith("/.well-known/jwks.json"):
            return 200, [("Content-Type", "application/json")], json.dumps(JWKS).encode()
        return 404, [("Content-Type", "application/json")], b"{}"

    def url(self, pool_id: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/{pool_id}/.well-known/jwks.json"


class Pool:
    """A user pool as infra/stacks/console.py defines it: custom:principal_id, one group per principal kind."""

    def __init__(self, cognito: Any, name: str) -> None:
        self.cognito = cognito
        self.id = cognito.create_user_pool(PoolName=name, Schema=[
            {"Name": "principal_id", "AttributeDataType": "String", "Mutable": False}])["UserPool"]["Id"]
        self.client_id = cognito.create_user_pool_client(
            UserPoolId=self.id, ClientName="console",
            ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH"])["UserPoolClient"]["ClientId"]
        for group in ("operators", "health-centers", "agencies"):
            cognito.create_group(UserPoolId=self.id, GroupName=group)
        self.issuer = f"https://cognito-idp.ap-northeast-2.amazonaws.com/{self.id}"

    def user(self, username: str, *, principal_id: str | None, groups: tuple[str, ...]) -> str:
        """Creates the user and signs them in; their ID token."""
        attributes = [{"Name": "custom:principal_id", "Value": principal_id}] if principal_id else []
        self.cognito.admin_create_user(UserPoolId=self.id, Username=username, UserAttributes=attributes,
                                       TemporaryPassword="Temporary-pass-1!", MessageAction="SUPPRESS")
        self.cognito.admin_set_user_password(UserPoolId=self.id, Username=username, Password=PASSWORD,
                                             Permanent=True)
        for group in groups:
            self.cognito.admin_add_user_to_group(UserPoolId=self.id, Username=username, GroupName=group)
        reply = self.cognito.admin_initiate_auth(UserPoolId=self.id, ClientId=self.client_id,
                                                 AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                                                 AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD})
        return str(reply["AuthenticationResult"]["IdToken"])


@pytest.fixture
def keys() -> Iterator[KeyServer]:
    server = KeyServer()
    yield server
    server.httpd.shutdown()


@pytest.fixture
def pool(aws) -> Pool:
    return Pool(aws.client("cognito-idp"), "console-users")


@pytest.fixture
def directory(aws, pool: Pool, keys: KeyServer) -> Callable[..., PrincipalDirectory]:
    """An API process's directory that accepts the pool's ID tokens (with ``clock`` for both)."""

    def make(clock: Callable[[], float] | None = None) -> PrincipalDirectory:
        import time

        tick = clock or time.time
        verifier = CognitoIdTokens(pool.issuer, [pool.client_id], jwks_url=keys.url(pool.id), clock=tick)
        return PrincipalDirectory(aws.table("principals"), sign_in=verifier, clock=tick)

    admin = PrincipalDirectory(aws.table("principals"))
    admin.create(PrincipalKind.OPERATOR, "Jung-gu control center", principal_id="op-jg",
                 attributes={"district": "JG"})
    admin.create(PrincipalKind.APP, "A phone", principal_id="app-1")
    return make


def test_an_operator_signed_in_through_the_pool_acts_as_the_principal_it_names(pool, directory, keys):
    token = pool.user("kim", principal_id="op-jg", groups=("operators",))

    principal = directory().authenticate(f"Bearer {token}")

    assert (principal.principal_id, principal.kind) == ("op-jg", PrincipalKind.OPERATOR)
    assert principal.attributes["district"] == "JG"
    assert keys.reads == 1


def test_the_keys_are_read_once_per_container(pool, directory, keys):
    api = directory()
    tokens = [pool.user(f"user-{i}", principal_id="op-jg", groups=("operators",)) for i in range(3)]

    for token in tokens:
        api.authenticate(f"Bearer {token}")

    assert keys.reads == 1


@pytest.mark.parametrize("tamper", ["payload", "signature"])
def test_an_altered_token_is_refused(pool, directory, tamper):
    header, payload, signature = pool.user("kim", principal_id="op-jg", groups=("operators",)).split(".")
    if tamper == "payload":  # the same claims, but naming another principal
        import base64

        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        claims["custom:principal_id"] = "app-1"
        payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    else:
        signature = signature[:-4] + ("AAAA" if not signature.endswith("AAAA") else "BBBB")

    with pytest.raises(Unauthorized, match="invalid sign-in token"):
        directory().authenticate(f"Bearer {header}.{payload}.{signature}")


def test_a_token_of_another_pool_or_client_is_refused(aws, pool, directory):
    other = Pool(aws.client("cognito-idp"), "someone-elses-pool")  # signed with the same key: only iss differs
    stranger = other.user("kim", principal_id="op-jg", groups=("operators",))
    with pytest.raises(Unauthorized, match="iss"):
        directory().authenticate(f"Bearer {stranger}")
    second_client = pool.cognito.create_user_pool_client(
        UserPoolId=pool.id, ClientName="another-app", ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    pool.user("lee", principal_id="op-jg", groups=("operators",))
    reply = pool.cognito.admin_initiate_auth(UserPoolId=pool.id, ClientId=second_client,
                                             AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                                             AuthParameters={"USERNAME": "lee", "PASSWORD": PASSWORD})
    with pytest.raises(Unauthorized, match="aud"):
        directory().authenticate(f"Bearer {reply['AuthenticationResult']['IdToken']}")


def test_the_pool_group_must_grant_the_principals_kind(pool, directory):
    # a health-center user naming an operator principal, an operator naming an app, a user in no group
    wrong_group = pool.user("park", principal_id="op-jg", groups=("health-centers",))
    app = pool.user("choi", principal_id="app-1", groups=("operators", "health-centers", "agencies"))
    no_group = pool.user("jung", principal_id="op-jg", groups=())

    for token in (wrong_group, app, no_group):
        with pytest.raises(Unauthorized, match="no group that may act as"):
            directory().authenticate(f"Bearer {token}")


def test_a_user_naming_no_principal_or_an_unknown_one_is_refused(pool, directory):
    nameless = pool.user("han", principal_id=None, groups=("operators",))
    unknown = pool.user("yoon", principal_id="op-gone", groups=("operators",))

    with pytest.raises(Unauthorized, match="custom:principal_id"):
        directory().authenticate(f"Bearer {nameless}")
    with pytest.raises(Unauthorized, match="no enabled principal op-gone"):
        directory().authenticate(f"Bearer {unknown}")


def test_an_expired_token_is_refused(pool, directory):
    import time

    token = pool.user("kim", principal_id="op-jg", groups=("operators",))
    later = [time.time()]
    api = directory(clock=lambda: later[0])
    assert api.authenticate(f"Bearer {token}").principal_id == "op-jg"

    later[0] += 3600 + 61  # Cognito's ID tokens live an hour; a minute of clock skew is tolerated

    with pytest.raises(Unauthorized, match="exp"):
        api.authenticate(f"Bearer {token}")


def test_disabling_the_principal_refuses_its_signed_in_users_within_a_second(aws, pool, directory):
    from test_credentials import seconds_until_refused

    token = pool.user("kim", principal_id="op-jg", groups=("operators",))
    api = directory()
    assert api.authenticate(f"Bearer {token}").principal_id == "op-jg"  # cached from here on

    PrincipalDirectory(aws.table("principals")).disable("op-jg")

    assert seconds_until_refused(api, token) < 1.0


def test_without_a_pool_configured_a_sign_in_token_is_refused(aws, pool):
    token = pool.user("kim", principal_id="op-jg", groups=("operators",))
    PrincipalDirectory(aws.table("principals")).create(PrincipalKind.OPERATOR, "JG", principal_id="op-jg")

    with pytest.raises(Unauthorized, match="not accepted here"):
        PrincipalDirectory(aws.table("principals")).authenticate(f"Bearer {token}")
