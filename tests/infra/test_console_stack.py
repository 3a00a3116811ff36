"""The console's cloud stack on its own, under cdk-nag's AwsSolutions pack: a private bucket read only through
CloudFront's origin access control, HTTPS, the built files deployed, and a Cognito pool whose groups are the
principal kinds."""

from __future__ import annotations

import json
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

from aws_cdk import App, Stack, Validations
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Match, Template
from cdk_nag import AwsSolutionsChecks

from chalicelib.catalog import build_catalog
from infra.nag import suppress
from infra.stacks.console import PRINCIPAL_GROUPS, ConsoleStack


def _synth(tmp_path: Path, dist: Path) -> Template:
    app = App(outdir=str(tmp_path / "out"))
    logs = Stack(app, "Logs")
    access_logs = s3.Bucket(logs, "AccessLogs", enforce_ssl=True, encryption=s3.BucketEncryption.S3_MANAGED,
                            block_public_access=s3.BlockPublicAccess.BLOCK_ALL)
    suppress(access_logs, "S1", "The log target itself (the storage stack's AccessLogs bucket in the app).")
    stack = ConsoleStack(app, "Console", catalog=build_catalog("test"), access_logs=access_logs, dist=dist)
    Validations.of(stack).add_plugins(AwsSolutionsChecks(stack))
    app.synth()  # raises on an unacknowledged AwsSolutions error
    report = json.loads((tmp_path / "out" / "validation-report.json").read_text())
    assert all(plugin.get("summary", {}).get("status") != "failure" for plugin in report["pluginReports"])
    return Template.from_stack(stack)


def test_the_console_is_served_from_a_private_bucket_through_cloudfront_with_oac_and_cdk_nag_is_clean(
        tmp_path: Any) -> None:
    # GIVEN a built console
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><div id=app></div>")
    # WHEN the stack is synthesised with cdk-nag
    template = _synth(tmp_path, dist)
    # THEN the bucket is private, TLS-only, and only the distribution reads it (origin access control)
    template.has_resource_properties("AWS::S3::Bucket", {"PublicAccessBlockConfiguration": {
        "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True}})
    template.resource_count_is("AWS::CloudFront::OriginAccessControl", 1)
    template.has_resource_properties("AWS::S3::BucketPolicy", {"PolicyDocument": {"Statement": Match.array_with([
        Match.object_like({"Principal": {"Service": "cloudfront.amazonaws.com"}, "Action": "s3:GetObject"})])}})
    dist_config = next(iter(template.find_resources("AWS::CloudFront::Distribution").values()))["Properties"][
        "DistributionConfig"]
    assert dist_config["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"
    assert dist_config["DefaultRootObject"] == "console/index.html"
    assert dist_config["Restrictions"]["GeoRestriction"] == {"Locations": ["KR"], "RestrictionType": "whitelist"}
    # AND the built files are deployed under console/ (the base the console is built for) and the cache invalidated,
    # the sync leaving the deployed config.json (the console-config stack's) out of its copies and deletions
    template.has_resource_properties("Custom::CDKBucketDeployment", {"DestinationBucketKeyPrefix": "console",
                                                                     "DistributionPaths": ["/console/*"]})
    (deployment,) = template.find_resources("Custom::CDKBucketDeployment").values()
    assert deployment["Properties"].get("Prune", True) is True
    assert any(fnmatch("config.json", pattern) for pattern in deployment["Properties"]["Exclude"])
    assert not any(fnmatch("index.html", pattern) for pattern in deployment["Properties"]["Exclude"])
    # AND people sign in through a pool with MFA, no self sign-up, one group per principal kind
    template.has_resource_properties("AWS::Cognito::UserPool", {
        "MfaConfiguration": "ON", "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": True},
        "Schema": Match.array_with([Match.object_like({"Name": "principal_id", "Mutable": False})])})
    groups = {g["Properties"]["GroupName"] for g in template.find_resources("AWS::Cognito::UserPoolGroup").values()}
    assert groups == set(PRINCIPAL_GROUPS)


def test_without_a_built_console_the_stack_deploys_no_files(tmp_path: Any) -> None:
    template = _synth(tmp_path, tmp_path / "missing")
    template.resource_count_is("Custom::CDKBucketDeployment", 0)
    template.resource_count_is("AWS::CloudFront::Distribution", 1)


def test_the_pools_groups_are_the_ones_the_api_maps_to_principal_kinds() -> None:
    from chalicelib.services.principals import SIGN_IN_GROUPS

    assert set(PRINCIPAL_GROUPS) == set(SIGN_IN_GROUPS)
