"""API: the Chalice app (``app.app``) behind an API Gateway REST API, with stage throttling and a usage plan."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_logs as logs
from constructs import Construct

from chalicelib.catalog import ResourceCatalog
from infra.config import DeploymentConfig
from infra.constructs.function import LOG_RETENTION, DataPlane, GtFunction
from infra.constructs.packaging import Packaging
from infra.nag import suppress
from infra.names import infra_name
from infra.profiles import API_PROFILE

API_STAGE = "api"


class ApiStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, catalog: ResourceCatalog, config: DeploymentConfig,
                 plane: DataPlane, bundle: Path, image_context: Path, environment: dict[str, str], out: Path,
                 **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        stage = catalog.stage
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
        self.api = apigw.LambdaRestApi(
            self, "Api", rest_api_name=infra_name(stage, "api"), handler=self.function, proxy=True,
            endpoint_types=[apigw.EndpointType.REGIONAL], cloud_watch_role=True,
            cloud_watch_role_removal_policy=RemovalPolicy.RETAIN,
            binary_media_types=["application/dicom", "image/*", "application/octet-stream"],
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
        suppress(self.api, "COG4", "Principals are the platform's own (apps, health centres, agencies, operators), "
                 "not a Cognito user pool.")
        suppress(self.api, "IAM4", "API Gateway's account-level CloudWatch role uses the AWS managed push-to-logs "
                 "policy, as AWS documents.",
                 findings=["Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                             "AmazonAPIGatewayPushToCloudWatchLogs"])
