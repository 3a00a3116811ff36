"""The deployed console reaches the API and signs people in: read from the whole app's synthesised assembly, each
value rendered as CloudFormation would deploy it, each CORS answer checked as a browser checks it (Fetch standard).

The page (console distribution) calls the API (API Gateway) cross-origin, fetches HLS from the media distribution
and posts studies to the X-ray bucket; it learns where the API is and how to sign in from console/config.json.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import pytest
from apigw_support import template_methods
from cfn_support import ACCOUNT, REGION, Assembly, preflight_allows, response_readable, shared_assembly

from chalicelib.catalog import build_catalog
from chalicelib.settings import Settings
from infra.config import REPO_ROOT

STAGE = "test"
CATALOG = build_catalog(STAGE)
FOREIGN_ORIGIN = "https://elsewhere.example"


@pytest.fixture(scope="module")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> Assembly:
    return shared_assembly(tmp_path_factory, STAGE)


@pytest.fixture(scope="module")
def console_origin(assembly: Assembly) -> str:
    """https:// and the console distribution's domain name, as CloudFront assigns it."""
    (logical,) = assembly.resources("console", "AWS::CloudFront::Distribution")
    return f"https://<{logical}.DomainName>"


@pytest.fixture(scope="module")
def contract() -> dict[str, Any]:
    return dict(json.loads((REPO_ROOT / "openapi.json").read_text()))


@pytest.fixture(scope="module")
def api_environment(assembly: Assembly) -> dict[str, Any]:
    return next(r["Properties"]["Environment"]["Variables"]
                for r in assembly.resources("api", "AWS::Lambda::Function").values()
                if r["Properties"].get("ImageConfig", {}).get("Command") == ["app.app"])


def _request_headers(contract: dict[str, Any]) -> set[str]:
    """The non-safelisted headers a page sends, from the committed contract: its header parameters, the bearer
    token (Authorization) and Content-Type: application/json for JSON bodies."""
    headers = {"Authorization"} if any(s.get("scheme") == "bearer" for s in
                                       contract["components"]["securitySchemes"].values()) else set()
    for operations in contract["paths"].values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if "$ref" in parameter:
                    parameter = contract["components"]["parameters"][parameter["$ref"].rsplit("/", 1)[1]]
                if parameter["in"] == "header":
                    headers.add(parameter["name"])
            if "application/json" in operation.get("requestBody", {}).get("content", {}):
                headers.add("Content-Type")
    return headers


def _static(value: Any) -> str:
    """A static header value of an API Gateway mapping: a single-quoted literal."""
    assert isinstance(value, str) and value.startswith("'") and value.endswith("'"), value
    return value[1:-1]


def _mock_answer(assembly: Assembly, method: Mapping[str, Any], status_prefix: str) -> dict[str, str]:
    """The headers of the mock method's one answer whose status starts so (each declared on its method response)."""
    (response,) = [r for r in method["Integration"]["IntegrationResponses"] if r["StatusCode"].startswith(status_prefix)]
    declared = next(r for r in method["MethodResponses"] if r["StatusCode"] == response["StatusCode"])
    assert set(response["ResponseParameters"]) <= set(declared["ResponseParameters"])
    return {name.removeprefix("method.response.header."): _static(assembly.evaluate("api", value))
            for name, value in response["ResponseParameters"].items()}


# --- the API answers the console's origin --------------------------------------------------------------------


def test_every_route_answers_the_consoles_preflight_for_its_methods_and_the_headers_the_contract_uses(
        assembly: Assembly, console_origin: str, contract: dict[str, Any]) -> None:
    from app import app

    # GIVEN the deployed API's methods and the headers pages send it (read from the committed contract)
    methods = template_methods(assembly.template("api"))
    headers = _request_headers(contract)
    assert {"Authorization", "Content-Type", "Idempotency-Key"} <= headers
    for path, route_methods in app.routes.items():
        # WHEN a browser on the console preflights a request to the route
        preflight = methods[(path, "OPTIONS")]
        assert preflight["Integration"]["Type"] == "MOCK" and preflight["AuthorizationType"] == "NONE", path
        answer = _mock_answer(assembly, preflight, "2")
        # THEN API Gateway answers it (OPTIONS, not the route's 405 ANY) with a 2xx that lets every method of the
        # route go with those headers, from the console's origin only
        assert (path, "ANY") in methods
        for method in route_methods:
            assert preflight_allows(answer, origin=console_origin, method=method, headers=headers), (path, method)
            assert not preflight_allows(answer, origin=FOREIGN_ORIGIN, method=method, headers=headers)
        # AND offers no method the route lacks, for long enough that a session does not preflight every call
        assert {m.strip() for m in answer["Access-Control-Allow-Methods"].split(",")} == set(route_methods), path
        assert int(answer["Access-Control-Max-Age"]) >= 60


def test_the_deployed_preflight_answers_what_the_local_gateway_answers(assembly: Assembly, console_origin: str) -> None:
    from app import app
    from chalicelib.api.cors import preflight_headers

    methods = template_methods(assembly.template("api"))
    for path, route_methods in app.routes.items():
        # GIVEN API Gateway's preflight answer and the one the local gateway gives (chalicelib.api.cors)
        deployed = _mock_answer(assembly, methods[(path, "OPTIONS")], "2")
        local = preflight_headers(console_origin, sorted(route_methods))
        # THEN they carry the same headers with the same values (lists compared item by item)
        for name, value in local.items():
            assert _items(deployed[name]) == _items(value), (path, name)


def _items(header: str) -> set[str]:
    return {item.strip() for item in header.split(",")}


def test_the_apis_own_error_answers_are_readable_by_the_console(assembly: Assembly, console_origin: str) -> None:
    # GIVEN API Gateway's own answers: the gateway responses and each route's 405 mock
    gateway = [r["Properties"] for r in assembly.resources("api", "AWS::ApiGateway::GatewayResponse").values()]
    assert len(gateway) >= 5
    for props in gateway:
        answer = {name.removeprefix("gatewayresponse.header."): _static(assembly.evaluate("api", value))
                  for name, value in props["ResponseParameters"].items()}
        # THEN the page may read them (its error shape, not an opaque network error), and no other origin may
        assert response_readable(answer, origin=console_origin), props["ResponseType"]
        assert not response_readable(answer, origin=FOREIGN_ORIGIN)
    refusals = [m for (_, verb), m in template_methods(assembly.template("api")).items() if verb == "ANY"]
    assert refusals
    for method in refusals:
        answer = _mock_answer(assembly, method, "405")
        assert response_readable(answer, origin=console_origin) and answer["Allow"]


def test_the_api_is_told_the_console_distributions_origin(assembly: Assembly, console_origin: str,
                                                          api_environment: dict[str, Any]) -> None:
    # WHEN CloudFormation renders the API function's CONSOLE_ORIGIN
    origin = assembly.evaluate("api", api_environment["CONSOLE_ORIGIN"])
    # THEN it is the console distribution's origin (no path, no trailing slash), a value Settings accepts
    assert origin == console_origin
    assert Settings(console_origin=origin).console_origin == origin


# --- config.json ----------------------------------------------------------------------------------------------


def _config_deployment(assembly: Assembly) -> dict[str, Any]:
    (deployment,) = assembly.resources("console_config", "Custom::CDKBucketDeployment").values()
    return dict(deployment["Properties"])


def test_config_json_tells_the_page_the_apis_url_and_the_pool_the_api_trusts(
        assembly: Assembly, api_environment: dict[str, Any]) -> None:
    # GIVEN the file the config deployment writes: its staged content, with the deploy-time markers its handler
    # replaces by the values CloudFormation renders
    props = _config_deployment(assembly)
    (key,) = props["SourceObjectKeys"]
    staged = assembly.outdir / f"asset.{key.removesuffix('.zip')}"
    (name,) = [p.name for p in staged.iterdir()]
    text = (staged / name).read_text()
    for marker, value in props["SourceMarkers"][0].items():
        text = text.replace(marker, assembly.evaluate("console_config", value))
    config = json.loads(text)
    # THEN it names the API's stage URL (the page appends /v1/...)
    (rest_api,) = assembly.resources("api", "AWS::ApiGateway::RestApi")
    (stage,) = assembly.resources("api", "AWS::ApiGateway::Stage").values()
    assert config["apiUrl"] == f"https://<{rest_api}>.execute-api.{REGION}.amazonaws.com/{stage['Properties']['StageName']}"
    # AND the page signs in against exactly the issuer and client whose ID tokens the API accepts
    sign_in = config["signIn"]
    assert sign_in["authority"] == assembly.evaluate("api", api_environment["SIGN_IN_ISSUER"])
    assert sign_in["clientId"] == assembly.evaluate("api", api_environment["SIGN_IN_CLIENT_IDS"])
    (client,) = assembly.resources("console", "AWS::Cognito::UserPoolClient").values()
    assert set(sign_in["scope"].split()) == set(client["Properties"]["AllowedOAuthScopes"])
    (domain,) = assembly.resources("console", "AWS::Cognito::UserPoolDomain").values()
    prefix = assembly.evaluate("console", domain["Properties"]["Domain"])
    assert sign_in["logoutUrl"] == f"https://{prefix}.auth.{REGION}.amazoncognito.com/logout"


def test_config_json_goes_beside_the_pages_index_uncached_and_leaves_the_built_files_alone(
        assembly: Assembly) -> None:
    props = _config_deployment(assembly)
    (site,) = assembly.resources("console", "AWS::S3::Bucket")
    (distribution,) = assembly.resources("console", "AWS::CloudFront::Distribution")
    console = assembly.template("console")["Resources"][distribution]["Properties"]["DistributionConfig"]
    page_dir = console["DefaultRootObject"].rsplit("/", 1)[0]
    # THEN the file lands in the console's bucket beside index.html, read fresh at every start
    assert assembly.evaluate("console_config", props["DestinationBucketName"]) == f"<{site}>"
    assert props["DestinationBucketKeyPrefix"] == page_dir
    assert props["SystemMetadata"]["cache-control"] == "no-cache"
    assert props["SystemMetadata"]["content-type"] == "application/json"
    assert assembly.evaluate("console_config", props["DistributionId"]) == f"<{distribution}>"
    (key,) = props["SourceObjectKeys"]
    (name,) = [p.name for p in (assembly.outdir / f"asset.{key.removesuffix('.zip')}").iterdir()]
    assert props["DistributionPaths"] == [f"/{page_dir}/{name}"]
    # AND it deletes nothing the console's own deployment wrote
    assert props["Prune"] is False
    # AND it is deployed after the API and the console, whose names it carries
    dependencies = {stack.stack_name for stack in assembly.golden.console_config.dependencies}
    assert {assembly.golden.api.stack_name, assembly.golden.console.stack_name} <= dependencies


# --- sign-in ---------------------------------------------------------------------------------------------------


def test_people_sign_in_on_the_pools_hosted_pages_with_code_and_pkce_back_to_the_console(
        assembly: Assembly, console_origin: str) -> None:
    (domain,) = assembly.resources("console", "AWS::Cognito::UserPoolDomain").values()
    prefix = assembly.evaluate("console", domain["Properties"]["Domain"])
    # THEN the domain prefix is unique per stage and account, and one Cognito accepts: lower-case letters,
    # digits and hyphens, at most 63, none of the reserved words
    assert prefix == f"golden-time-{STAGE}-{ACCOUNT}"
    assert re.fullmatch(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?", prefix)
    assert not any(word in prefix for word in ("aws", "amazon", "cognito"))
    # AND managed login serves the console's client (it needs a branding per client, or shows an error page)
    assert domain["Properties"]["ManagedLoginVersion"] == 2
    ((client_logical, client),) = assembly.resources("console", "AWS::Cognito::UserPoolClient").items()
    (branding,) = assembly.resources("console", "AWS::Cognito::ManagedLoginBranding").values()
    assert branding["Properties"]["ClientId"] == {"Ref": client_logical}
    # AND the client is a public one doing the authorization-code flow, back to the console page
    props = client["Properties"]
    assert props["AllowedOAuthFlows"] == ["code"] and props["AllowedOAuthFlowsUserPoolClient"] is True
    assert props.get("GenerateSecret") in (None, False)
    assert {"openid", "email", "profile"} <= set(props["AllowedOAuthScopes"])
    assert "COGNITO" in props["SupportedIdentityProviders"]
    page = f"{console_origin}/console/"
    assert [assembly.evaluate("console", url) for url in props["CallbackURLs"]] == [page]
    assert [assembly.evaluate("console", url) for url in props["LogoutURLs"]] == [page]


# --- what else the page fetches cross-origin -------------------------------------------------------------------


def test_players_on_the_console_read_playlists_and_segments_from_the_media_edge(
        assembly: Assembly, console_origin: str) -> None:
    policies = assembly.resources("video", "AWS::CloudFront::ResponseHeadersPolicy")
    (distribution,) = assembly.resources("video", "AWS::CloudFront::Distribution").values()
    config = distribution["Properties"]["DistributionConfig"]
    behaviours = [config["DefaultCacheBehavior"], *config["CacheBehaviors"]]
    assert len(behaviours) == 3
    for behaviour in behaviours:
        # GIVEN each behaviour's response headers policy
        policy_ref = behaviour["ResponseHeadersPolicyId"]
        cors = policies[policy_ref["Ref"]]["Properties"]["ResponseHeadersPolicyConfig"]["CorsConfig"]
        answer = {"Access-Control-Allow-Origin": ",".join(cors["AccessControlAllowOrigins"]["Items"])}
        # THEN hls.js's XHR from the console (or an agency's page) may read the answer and its byte-range headers
        assert response_readable(answer, origin=console_origin)
        assert cors["AccessControlAllowCredentials"] is False and cors["OriginOverride"] is True
        assert {"Content-Range", "Content-Length"} <= set(cors["AccessControlExposeHeaders"]["Items"])
        # AND signed URLs still guard every method the edge serves
        assert behaviour["TrustedKeyGroups"] and set(behaviour["AllowedMethods"]) == {"GET", "HEAD"}


def test_pages_may_post_to_the_buckets_the_catalog_marks_for_browser_uploads_and_nothing_else(
        assembly: Assembly, console_origin: str) -> None:
    buckets = {assembly.evaluate("storage", r["Properties"].get("BucketName")): r["Properties"]
               for r in assembly.resources("storage", "AWS::S3::Bucket").values()}
    marked = {spec.name for spec in CATALOG.buckets.values() if spec.browser_uploads}
    assert CATALOG.bucket("xray") in marked  # the console uploads studies with the API's presigned POST
    # THEN exactly those buckets carry CORS rules, and they let a page's form POST be read, and nothing more
    assert {name for name, props in buckets.items() if "CorsConfiguration" in props} == marked
    for name in marked:
        (rule,) = buckets[name]["CorsConfiguration"]["CorsRules"]
        assert rule["AllowedMethods"] == ["POST"]
        assert response_readable({"Access-Control-Allow-Origin": ",".join(rule["AllowedOrigins"])},
                                 origin=console_origin)
