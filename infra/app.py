"""The CDK app: ``python -m infra.app`` (or ``npx aws-cdk synth`` via cdk.json) writes CloudFormation to cdk.out/.

Context (``-c key=value``): stage (default dev), account, region, require_layers, signing_key_secret,
agency_client_certificate_secret, batch_instance_types, batch_max_vcpus, api_rate_limit, api_burst_limit.
"""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from pathlib import Path

if not __package__:  # run as ``python infra/app.py``: import from the repo root, where infra/constructs can't
    sys.path[0] = str(Path(__file__).resolve().parents[1])  # shadow the ``constructs`` library

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from chalicelib.catalog import build_catalog
from infra.bundle import stage_function_bundle, stage_lambda_image_context, stage_search_shard_context
from infra.config import REPO_ROOT, DeploymentConfig
from infra.constructs.function import DataPlane
from infra.environment import settings_environment
from infra.plan import plan_functions
from infra.stacks.api import ApiStack
from infra.stacks.batch import BatchStack
from infra.stacks.console import ConsoleStack
from infra.stacks.console_config import ConsoleConfigStack
from infra.stacks.data import DataStack
from infra.stacks.functions import FunctionsStack
from infra.stacks.messaging import MessagingStack
from infra.stacks.observability import ObservabilityStack
from infra.stacks.storage import StorageStack
from infra.stacks.video import VideoStack

AUDIT_RETENTION_DAYS = 365 * 5
# Feature flags this app relies on (set here, not in cdk.json, so every way of running the app agrees).
FEATURE_FLAGS: dict[str, object] = {
    "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy": True,
    "@aws-cdk/aws-iam:minimizePolicies": True,
    "@aws-cdk/aws-kms:aliasNameRef": True,
    "@aws-cdk/aws-lambda:recognizeLayerVersion": True,
    "@aws-cdk/core:target-partitions": ["aws"],
    "@aws-cdk/core:defaultCrossStackReferences": "strong",
}


class GoldenTime:
    """Every stack of one stage; attributes give tests direct access to each."""

    def __init__(self, app: cdk.App, config: DeploymentConfig) -> None:
        catalog = build_catalog(config.stage)
        plans = plan_functions(catalog)
        out = Path(app.outdir) / ".staging"
        env = cdk.Environment(account=config.account, region=config.region) if config.account else None
        prefix = f"Gt{config.stage.capitalize()}"
        self.catalog, self.plans, self.config = catalog, plans, config

        self.messaging = MessagingStack(app, f"{prefix}Messaging", catalog=catalog, plans=plans, env=env)
        self.storage = StorageStack(app, f"{prefix}Storage", catalog=catalog, messaging=self.messaging,
                                    audit_retention_days=AUDIT_RETENTION_DAYS, env=env)
        self.data = DataStack(app, f"{prefix}Data", catalog=catalog, env=env)
        bundle, image_context = stage_function_bundle(out), stage_lambda_image_context(out)
        plane = DataPlane(catalog=catalog, storage_key_arn=self.storage.key.key_arn,
                          table_key_arn=self.data.key.key_arn, messaging_key_arn=self.messaging.key.key_arn,
                          queues=dict(self.messaging.queues), live_video_policy=None,
                          signing_secret_name=config.secret_name,
                          secret_arns={k: v.secret_arn for k, v in self.data.secrets.items()},
                          secret_key_arn=self.data.key.key_arn,
                          agency_certificate_secret_name=config.agency_client_certificate_secret)
        self.video = VideoStack(app, f"{prefix}Video", catalog=catalog, storage=self.storage, plane=plane,
                                bundle=bundle, image_context=image_context, out=out,
                                require_layers=config.require_layers, signing_key_secret=config.secret_name, env=env)
        plane = replace(plane, revocation_kvs_arn=self.video.revoked_links.key_value_store_arn)
        environment = settings_environment(
            catalog, media_edge_url=self.video.media_edge_url,
            cloudfront_key_pair_id=self.video.public_key.public_key_id, signing_key_secret=config.secret_name,
            revocation_kvs_arn=self.video.revoked_links.key_value_store_arn,
            agency_client_certificate_secret=config.agency_client_certificate_secret,
        )
        self.functions = FunctionsStack(app, f"{prefix}Functions", catalog=catalog, plans=plans, plane=plane,
                                        bundle=bundle, image_context=image_context, environment=environment,
                                        out=out,
                                        require_layers=config.require_layers, env=env)
        self.console = ConsoleStack(app, f"{prefix}Console", catalog=catalog, access_logs=self.storage.access_logs,
                                    env=env)
        self.api = ApiStack(app, f"{prefix}Api", catalog=catalog, config=config, plane=plane, bundle=bundle,
                            image_context=image_context, out=out, env=env, console_origin=self.console.origin,
                            environment=environment | self.console.api_environment)
        self.console_config = ConsoleConfigStack(app, f"{prefix}ConsoleConfig", console=self.console, api=self.api,
                                                 env=env)
        self.batch = BatchStack(app, f"{prefix}Batch", catalog=catalog, config=config, plane=plane,
                                image_context=stage_search_shard_context(out), environment=environment, env=env)
        self.observability = ObservabilityStack(
            app, f"{prefix}Observability", catalog=catalog, plans=plans,
            api_function=(self.api.function_name, self.api.timeout_s), env=env)
        self.observability.add_stack_dependency(self.functions, "alarms watch the functions")
        self.observability.add_stack_dependency(self.api, "alarms watch the API")
        self.stacks: tuple[cdk.Stack, ...] = (self.messaging, self.storage, self.data, self.video, self.functions,
                                              self.api, self.batch, self.observability, self.console,
                                              self.console_config)
        for stack in self.stacks:
            cdk.Tags.of(stack).add("project", "golden-time")
            cdk.Tags.of(stack).add("stage", config.stage)


def build_app(outdir: str | None = None, context: dict[str, object] | None = None, *,
              nag: bool = True) -> tuple[cdk.App, GoldenTime]:
    """The app with every stack (and cdk-nag's AwsSolutions pack unless ``nag`` is off)."""
    app = cdk.App(outdir=outdir, context={**FEATURE_FLAGS, **(context or {})})
    golden = GoldenTime(app, DeploymentConfig.from_context(app.node))
    if nag:
        cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app, verbose=True, write_suppressions_to_cloud_formation=True))
    return app, golden


def main() -> None:
    # Under the CDK CLI, CDK_OUTDIR names the output; run directly, the app writes cdk.out/ at the repo root.
    app, _ = build_app(None if "CDK_OUTDIR" in os.environ else str(REPO_ROOT / "cdk.out"))
    app.synth()


if __name__ == "__main__":
    main()
