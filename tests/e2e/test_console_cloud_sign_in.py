"""The console as the CDK app deploys it, in a real browser: the page on its own origin (as S3 behind the console's
CloudFront serves it, with the config.json the CDK app writes beside it), the API on another origin (API Gateway)
answering CORS for the console's origin only, and people signing in at an OpenID provider's own page with the
authorization code flow and PKCE, as the Cognito user pool's hosted UI has them do.

The provider is panva's oidc-provider (OpenID Certified), run by node on loopback and configured as our Cognito app
client is (a public client, PKCE S256 required, Cognito's claims in the ID token): the sign-in page, the code, the
token exchange and the signature the API verifies are all its own, not our code's."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from console_support import CHROMIUM, ROOT, iter_pages, launch, screenshot
from loopback_support import Answer, serve_get
from serve_support import serve

from chalicelib.adapters.resources import Resources
from chalicelib.cli import create_principal
from chalicelib.models.principal import PrincipalKind
from chalicelib.settings import Settings
from local.console_site import DIST, ConsoleSite

pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs chromium (make test installs it)")]
sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
PROVIDER = ROOT / "console" / "test" / "oidc-provider.mjs"
CLIENT_ID = "gt-console-client"
ACCOUNTS = {"kim.operator": {"principal_id": "op-cloud", "groups": ["operators"]},
            "lee.health": {"principal_id": "hc-cloud", "groups": ["health-centers"]},
            "park.nogroup": {"principal_id": "op-cloud", "groups": []}}


class Site:
    """The console's bucket behind its distribution: the built files under /console/, and config.json beside them."""

    def __init__(self) -> None:
        self.config: dict[str, Any] = {}
        self.files = ConsoleSite(DIST)
        self.httpd = serve_get(self._answer)

    def _answer(self, path: str) -> Answer:
        if path.split("?")[0] == "/console/config.json":
            return 200, [("Content-Type", "application/json")], json.dumps(self.config).encode()
        return self.files.answer("GET", path) or (404, [], b"not found")

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    assert (DIST / "index.html").is_file(), "console not built: run make console"
    site = Site()
    console_url = f"{site.origin}/console/"
    provider = subprocess.Popen(
        ["node", str(PROVIDER)], cwd=ROOT / "console", stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env={"PATH": os.environ["PATH"], "OIDC_CLIENT_ID": CLIENT_ID, "OIDC_REDIRECT_URI": console_url,
             "OIDC_ACCOUNTS": json.dumps(ACCOUNTS)})
    assert provider.stdout is not None
    issuer = json.loads(provider.stdout.readline())["issuer"]
    state = tmp_path_factory.mktemp("console-cloud")
    served = serve(state, env={"CONSOLE_ORIGIN": site.origin, "SIGN_IN_ISSUER": issuer,
                               "SIGN_IN_CLIENT_IDS": CLIENT_ID, "SIGN_IN_JWKS_URL": f"{issuer}/jwks"})
    try:
        with pytest.MonkeyPatch.context() as env:
            for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
                env.setenv(name, "local")
            resources = Resources(Settings(stage="local", aws_endpoint_url=served.aws_url, aws_region="ap-northeast-2"))
            create_principal(PrincipalKind.OPERATOR, "op-cloud", principal_id="op-cloud", cidrs=("127.0.0.1/32",),
                             resources=resources)
            create_principal(PrincipalKind.HEALTH_CENTER, "hc-cloud", principal_id="hc-cloud", resources=resources)
        # what infra/stacks/console_config.py deploys: the API's URL and the user pool as an OpenID provider
        site.config = {"apiUrl": served.api_url, "signIn": {"authority": issuer, "clientId": CLIENT_ID,
                                                            "scope": "openid email profile"}}
        with sync_playwright() as playwright:
            browser = launch(playwright)
            yield {"url": console_url, "site": site, "issuer": issuer, "api_url": served.api_url, "browser": browser}
            browser.close()
    finally:
        served.stop()
        provider.terminate()
        provider.wait(timeout=10)
        site.httpd.shutdown()


@pytest.fixture
def page(cloud: dict[str, Any]) -> Iterator[Any]:
    yield from iter_pages(cloud["browser"])


def _sign_in_at_the_provider(page: Any, cloud: dict[str, Any], login: str) -> dict[str, Any]:
    """From the console's sign-in form through the provider's page and back; what the browser sent on the way."""
    seen: dict[str, Any] = {"api": []}

    def on_request(request: Any) -> None:
        if request.url.startswith(f"{cloud['issuer']}/auth?"):
            seen["authorize"] = parse_qs(urlsplit(request.url).query)
        elif request.url.startswith(f"{cloud['issuer']}/token"):
            seen["token"] = parse_qs(request.post_data or "")
        elif request.url.startswith(f"{cloud['api_url']}/v1/"):
            seen["api"].append(request)

    page.on("request", on_request)
    page.goto(cloud["url"])
    page.get_by_test_id("signin-provider").click()
    page.wait_for_url(f"{cloud['issuer']}/**")
    page.locator("input[name=login]").fill(login)
    page.locator("input[name=password]").fill("correct horse battery staple")
    page.locator("button[type=submit]").click()
    page.wait_for_url(f"{cloud['url']}**")
    return seen


def test_an_operator_signs_in_at_the_provider_with_pkce_and_the_page_calls_the_api_on_its_own_origin(cloud, page):
    # WHEN an operator signs in with their organisation account
    seen = _sign_in_at_the_provider(page, cloud, "kim.operator")
    # THEN the operator's screen opens, naming the principal the ID token maps to
    page.get_by_test_id("queue").wait_for(timeout=30_000)
    assert page.get_by_test_id("who").inner_text() == "op-cloud"
    # AND the page asked for a code with a S256 challenge and exchanged it with the verifier (PKCE), no secret
    assert seen["authorize"]["response_type"] == ["code"]
    assert seen["authorize"]["code_challenge_method"] == ["S256"]
    assert seen["authorize"]["redirect_uri"] == [cloud["url"]]
    assert seen["authorize"]["lang"] == ["ko"]  # the provider's page in the console's language
    assert len(seen["token"]["code_verifier"][0]) >= 43 and "client_secret" not in seen["token"]
    # AND the code is gone from the address bar
    assert "code=" not in page.url
    # AND its API calls went to the API's origin with the ID token, and the browser let the page read the answers
    # (a CORS refusal would leave no response)
    page.wait_for_function("() => document.querySelectorAll('[data-testid=queue]').length > 0")
    calls = [r for r in seen["api"] if r.response() is not None]
    assert calls, "the page made no API call it could read"
    assert all(r.headers["authorization"].startswith("Bearer ey") for r in calls)
    assert {r.response().status for r in calls} == {200}
    assert all(r.response().headers["access-control-allow-origin"] == cloud["site"].origin for r in calls)
    screenshot(page, "cloud-operator-signed-in")
    # WHEN they sign out THEN the sign-in form is back and the token is gone
    page.get_by_test_id("signout").click()
    page.get_by_test_id("signin-provider").wait_for()
    assert page.evaluate("() => sessionStorage.getItem('gt.token')") is None


def test_a_health_center_user_gets_the_health_center_screen_from_their_group(cloud, page):
    _sign_in_at_the_provider(page, cloud, "lee.health")
    page.get_by_test_id("dropzone").wait_for(timeout=30_000)
    assert page.get_by_test_id("who").inner_text() == "hc-cloud"
    page.get_by_test_id("studies").wait_for()
    screenshot(page, "cloud-health-signed-in")


def test_a_user_in_no_role_group_is_told_so_and_not_signed_in(cloud, page):
    _sign_in_at_the_provider(page, cloud, "park.nogroup")
    message = page.get_by_test_id("signin-error")
    message.wait_for()
    assert "그룹" in message.inner_text()  # Korean by default: the account is in none of the role groups
    assert page.evaluate("() => sessionStorage.getItem('gt.token')") is None
    screenshot(page, "cloud-no-group")


def test_the_api_lets_only_the_console_origin_read_its_answers(cloud, page):
    # GIVEN a page on another origin (localhost is not 127.0.0.1 to a browser)
    other = cloud["url"].replace("127.0.0.1", "localhost")
    page.goto(other)
    # WHEN it calls the API as the console does THEN the browser refuses to let it read the answer
    outcome = page.evaluate("""async (api) => {
        try { const r = await fetch(api + '/v1/cameras/nearby?lat=37.5&lon=127&k=1',
                                    { headers: { Authorization: 'Bearer gt.x.y' } });
              return 'read ' + r.status; }
        catch (e) { return 'refused'; } }""", cloud["api_url"])
    assert outcome == "refused"
    # AND from the console's own origin the same call is read (a 401: the token is made up)
    page.goto(cloud["url"])
    assert page.evaluate("""async (api) => {
        const r = await fetch(api + '/v1/cameras/nearby?lat=37.5&lon=127&k=1',
                              { headers: { Authorization: 'Bearer gt.x.y' } });
        return r.status; }""", cloud["api_url"]) == 401
