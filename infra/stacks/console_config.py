"""Console config: the deployed page's ``console/config.json`` (where the API is, how to sign in), written into the
console's bucket once both exist. The API needs the console's origin and pool, the page needs the API's URL: neither
stack can write this file, so a third one, deployed after both, does.

The console stack's own deployment excludes this key from its sync, so a new build neither deletes nor replaces it;
this deployment does not prune, so it never touches the built files either.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Aws, Stack
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct

from infra.nag import suppress_bucket_deployment
from infra.stacks.api import ApiStack
from infra.stacks.console import CONSOLE_CONFIG, CONSOLE_PREFIX, ConsoleStack


class ConsoleConfigStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, console: ConsoleStack, api: ApiStack,
                 **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.add_stack_dependency(console, "the file goes into the console's bucket")
        self.add_stack_dependency(api, "the file names the API's URL")
        self.config: dict[str, object] = {
            "apiUrl": f"https://{api.api.rest_api_id}.execute-api.{Aws.REGION}.{Aws.URL_SUFFIX}/"
                      f"{api.api.deployment_stage.stage_name}",
            "signIn": console.sign_in_config}
        """What the page reads at start (deploy-time values: the handler substitutes them when it writes the file)."""
        site = s3.Bucket.from_bucket_arn(self, "Site", console.site_arn_import)
        s3deploy.BucketDeployment(
            self, "ConfigFile", sources=[s3deploy.Source.json_data(CONSOLE_CONFIG, self.config)],
            destination_bucket=site, destination_key_prefix=CONSOLE_PREFIX, prune=False,
            # read at every start: a redeployed API or client shows at the next load, not after a day of caching
            cache_control=[s3deploy.CacheControl.no_cache()], content_type="application/json",
            distribution=console.distribution, distribution_paths=[f"/{CONSOLE_PREFIX}/{CONSOLE_CONFIG}"],
            memory_limit=256)
        suppress_bucket_deployment(self, destination=console.site_arn_export_name,
                                   what="config.json under the console bucket's console/ prefix")
