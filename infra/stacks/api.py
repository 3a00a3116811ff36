"""API: the Chalice app (``app.app``) behind an API Gateway REST API, with stage throttling and a usage plan.

One API Gateway resource per Chalice route, generated from the app's own route table (as ``chalice package``
does), each route's methods a Lambda proxy integration: API Gateway then sends ``resource`` /
``requestContext.resourcePath`` = the route template, which is what Chalice routes on (a ``{proxy+}`` resource
would send ``/{proxy+}`` and Chalice would answer 405 to everything). Any other method on a route is answered
405 by a mock integration, and API Gateway's own errors (unknown path, throttling, oversized body) by gateway
responses, all in the API's ``{"error": {"code", "message"}}`` shape. ``local/gateway.py`` builds the same
events and errors.

The deployed console calls the API from its own origin: every route's resource answers the CORS preflight
(an OPTIONS mock, which API Gateway prefers to the 405 ``ANY``), and the 405 and the gateway responses carry
``Access-Control-Allow-Origin`` as the app's own answers do (``chalicelib/api/cors.py``), so the page can read them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_logs as logs
from constructs import Construct

from chalicelib.api.cors import ALLOW_HEADERS, MAX_AGE_S
from chalicelib.catalog import ResourceCatalog
from infra.config import DeploymentConfig
from infra.constructs.function import LOG_RETENTION, DataPlane, GtFunction
from infra.constructs.packaging import Packaging
from infra.nag import suppress
from infra.names import infra_name, pascal
from infra.profiles import API_PROFILE

API_STAGE = "api"


class ApiStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, catalog: ResourceCatalog, config: DeploymentConfig,
                 plane: DataPlane, bundle: Path, image_context: Path, environment: dict[str, str], out: Path,
                 console_origin: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        stage = catalog.stage
        self.console_origin = console_origin
        packaging = Packaging(self, stage=stage, out=out, bundle=bundle, image_context=image_context,
                              require_layers=config.require_layers)
        self.function_name = infra_name(stage, "api")
        self.timeout_s = API_PROFILE.timeout_s or 29
        self.function = GtFunction(
            self, "Handler", function_name=self.function_name, code=packaging.code_for(API_PROFILE, "app.app"),
            profile=API_PROFILE, timeout_s=self.timeout_s,
            environment=environment, plane=plane,
        ).function
        access_logs = logs.LogGroup(self, "AccessLogs", log_group_name=f"/gt/{stage}/api-access",
                                    retention=LOG_RETENTION, removal_policy=RemovalPolicy.RETAIN)
        routes = chalice_routes()
        self.api = apigw.RestApi(
            self, "Api", rest_api_name=infra_name(stage, "api"),
            endpoint_types=[apigw.EndpointType.REGIONAL], cloud_watch_role=True,
            cloud_watch_role_removal_policy=RemovalPolicy.RETAIN,
            binary_media_types=binary_media_types(),
            deploy_options=apigw.StageOptions(
                stage_name=API_STAGE, throttling_rate_limit=config.api_rate_limit,
                throttling_burst_limit=config.api_burst_limit, tracing_enabled=True, metrics_enabled=True,
                logging_level=apigw.MethodLoggingLevel.ERROR, data_trace_enabled=False,
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=True, http_method=True, ip=True, protocol=True, request_time=True, resource_path=True,
                    response_length=True, status=True, user=True),
            ),
        )
        self._add_routes(routes)
        self._add_gateway_responses()
        self.usage_plan = self.api.add_usage_plan(
            "UsagePlan", name=infra_name(stage, "api-default"),
            throttle=apigw.ThrottleSettings(rate_limit=config.api_rate_limit, burst_limit=config.api_burst_limit),
            quota=apigw.QuotaSettings(limit=1_000_000, period=apigw.Period.DAY),
            api_stages=[apigw.UsagePlanPerApiStage(api=self.api, stage=self.api.deployment_stage)],
        )
        suppress(self.api, "APIG2", "The Chalice app validates every body and query with pydantic and answers "
                 "400/413/422 with a reason; a gateway model would duplicate that contract.")
        suppress(self.api, "APIG3", "Stage throttling and the usage plan bound traffic; agency routes also check "
                 "the caller's registered IP ranges in the application.")
        suppress(self.api, "APIG4", "Every route authenticates the bearer token in the app's endpoint decorator "
                 "(principal kinds, source-IP rules); a gateway authorizer would split that logic.")
        suppress(self.api, "COG4", "Every route authenticates in the app: the platform's own API tokens (apps, "
                 "health centres, agencies, operators) or an ID token of the console's Cognito user pool, verified "
                 "against the pool's keys and mapped to the principal it names (chalicelib/adapters/cognito.py).")
        suppress(self.api, "IAM4", "API Gateway's account-level CloudWatch role uses the AWS managed push-to-logs "
                 "policy, as AWS documents.",
                 findings=["Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                             "AmazonAPIGatewayPushToCloudWatchLogs"])

    def _add_routes(self, routes: Mapping[str, Sequence[str]]) -> None:
        # One permission for the whole API (per-method permissions would overflow the function's policy).
        integration = apigw.LambdaIntegration(self.function, proxy=True, allow_test_invoke=False,
                                              scope_permission_to_method=False)
        for path, methods in sorted(routes.items()):
            resource = self.api.root.resource_for_path(path)
            for method in sorted(methods):
                resource.add_method(method, integration)
            resource.add_cors_preflight(allow_origins=[self.console_origin], allow_methods=sorted(methods),
                                        allow_headers=list(ALLOW_HEADERS), max_age=Duration.seconds(MAX_AGE_S),
                                        status_code=204)
            allowed = ", ".join(sorted(methods))
            headers = {"Allow": f"'{allowed}'", "Access-Control-Allow-Origin": f"'{self.console_origin}'"}
            resource.add_method("ANY", apigw.MockIntegration(
                request_templates={"application/json": '{"statusCode": 405}'},
                passthrough_behavior=apigw.PassthroughBehavior.WHEN_NO_TEMPLATES,
                integration_responses=[apigw.IntegrationResponse(
                    status_code="405",
                    response_parameters={f"method.response.header.{name}": value for name, value in headers.items()},
                    response_templates={"application/json": json.dumps({"error": {
                        "code": "method_not_allowed", "message": f"$context.httpMethod not allowed; use {allowed}"}})},
                )],
            ), method_responses=[apigw.MethodResponse(
                status_code="405", response_parameters={f"method.response.header.{name}": True for name in headers})])

    def _add_gateway_responses(self) -> None:
        for response_type, status, code, message in GATEWAY_ERRORS:
            self.api.add_gateway_response(
                f"Gateway{pascal(code)}", type=response_type, status_code=str(status) if status else None,
                response_headers={"Content-Type": "'application/json'",
                                  "Access-Control-Allow-Origin": f"'{self.console_origin}'"},
                templates={"application/json": json.dumps({"error": {"code": code, "message": "MESSAGE"}})
                           .replace('"MESSAGE"', message)})


# API Gateway's own answers, in the API's error shape (status None: API Gateway's own). An unknown path is
# MISSING_AUTHENTICATION_TOKEN, a 403 by default: it is a 404 here, as the local gateway answers.
GATEWAY_ERRORS: tuple[tuple[apigw.ResponseType, int | None, str, str], ...] = (
    (apigw.ResponseType.MISSING_AUTHENTICATION_TOKEN, 404, "not_found", '"no route $context.httpMethod $context.path"'),
    (apigw.ResponseType.REQUEST_TOO_LARGE, 413, "payload_too_large", '"request body exceeds 10 MB"'),
    (apigw.ResponseType.THROTTLED, 429, "rate_limited", "$context.error.messageString"),
    (apigw.ResponseType.DEFAULT_4_XX, None, "gateway_rejected", "$context.error.messageString"),
    (apigw.ResponseType.DEFAULT_5_XX, None, "gateway_error", "$context.error.messageString"),
)


def chalice_routes() -> dict[str, list[str]]:
    """The Chalice app's route table: path template → methods (the app is imported, as ``chalice package`` does)."""
    from app import app

    return {path: sorted(methods) for path, methods in app.routes.items()}


def binary_media_types() -> list[str]:
    """The content types API Gateway passes base64-encoded: the app's own list, which the local gateway uses too."""
    from app import app

    return list(app.api.binary_types)
