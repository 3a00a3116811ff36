"""The synthesised CloudFormation: security properties, catalog-derived wiring, cdk-nag and cfn-lint."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Stack, Validations
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Match, Template
from cdk_nag import AwsSolutionsChecks
from cfn_support import deployment_choices, shared_assembly
from cfnlint.api import ManualArgs, lint_file

from chalicelib.adapters.batch import build_batch_executor
from chalicelib.catalog import build_catalog
from chalicelib.settings import Settings
from infra.app import GoldenTime
from infra.constructs.function import BATCH_DESCRIBE_ACTIONS, XRAY_ACTIONS
from infra.names import pascal
from infra.plan import VISIBILITY_FACTOR

# The stage the `aws` fixture provisions in moto, so the names can be compared with the local platform's.
STAGE = "test"


@dataclass
class Synthesised:
    """The app's stacks and the written cloud assembly (templates read back from disk)."""

    golden: GoldenTime
    outdir: Path
    templates: dict[str, Template]

    def template(self, stack_attr: str) -> Template:
        return self.templates[getattr(self.golden, stack_attr).stack_name]

    def all_resources(self, resource_type: str) -> dict[str, Mapping[str, Any]]:
        found: dict[str, Mapping[str, Any]] = {}
        for stack_name, template in self.templates.items():
            for logical_id, resource in template.find_resources(resource_type).items():
                found[f"{stack_name}/{logical_id}"] = resource
        return found

    def template_files(self) -> list[Path]:
        manifest = json.loads((self.outdir / "manifest.json").read_text())
        return [self.outdir / artifact["properties"]["templateFile"]
                for artifact in manifest["artifacts"].values() if artifact["type"] == "aws:cloudformation:stack"]


@pytest.fixture(scope="module")
def synthesised(tmp_path_factory: pytest.TempPathFactory) -> Synthesised:
    """The whole app, synthesised once per test run and read back by every test below.

    Under pytest-xdist the workers share one assembly: the first to take the lock synthesises it (cdk-nag runs
    then; an unacknowledged error raises), the others build the construct tree only, for its names and plans.
    """
    shared = shared_assembly(tmp_path_factory, STAGE)
    return Synthesised(golden=shared.golden, outdir=shared.outdir,
                       templates={name: Template.from_json(t) for name, t in shared.templates.items()})


CATALOG = build_catalog(STAGE)

# Documented exceptions to "no '*' action or resource" (each action accepts no resource-level scoping):
CDK_DEPLOYMENT_HANDLER = "CustomCDKBucketDeployment"  # logical-id prefix of CDK's BucketDeployment function
STAR_RESOURCE_EXCEPTIONS = {
    *XRAY_ACTIONS,  # X-Ray trace upload from every function and the search shard
    *BATCH_DESCRIBE_ACTIONS,  # the API follows the search's array job by id
    "ecr:GetAuthorizationToken",  # the Batch job's execution role, to pull the image asset
    "cloudfront:CreateInvalidation", "cloudfront:GetInvalidation",  # CDK's console deployment refreshes its paths
}
# KMS key policies are not IAM identity/resource grants on other resources: their "Resource": "*" means "this key".
IAM_POLICY_TYPES = ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::Role", "AWS::S3::BucketPolicy",
                    "AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy")
# cfn-lint W3005 flags the DependsOn that CDK adds from a function to its role's policy; it is deliberate (the
# policy must exist before the function's first invocation), so it is the one check ignored.
CFN_LINT_IGNORED = ["W3005"]


def _by_property(resources: Mapping[str, Mapping[str, Any]], prop: str) -> dict[str, Mapping[str, Any]]:
    return {r["Properties"][prop]: r for r in resources.values() if prop in r.get("Properties", {})}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _statements(resource: Mapping[str, Any]) -> list[dict[str, Any]]:
    props = resource.get("Properties", {})
    documents = [props["PolicyDocument"]] if "PolicyDocument" in props else []
    documents += [policy["PolicyDocument"] for policy in props.get("Policies", [])]
    return [statement for document in documents for statement in document["Statement"]]


# --- messaging -------------------------------------------------------------------------------------------------


def test_every_queue_has_a_dlq_with_the_catalogs_receive_count(synthesised: Synthesised) -> None:
    # GIVEN the messaging stack's queues, by name
    resources = synthesised.template("messaging").find_resources("AWS::SQS::Queue")
    by_name = _by_property(resources, "QueueName")
    logical_of = {r["Properties"]["QueueName"]: logical for logical, r in resources.items()}
    for spec in CATALOG.queues.values():
        # WHEN we read each work queue's redrive policy
        redrive = by_name[spec.name]["Properties"]["RedrivePolicy"]
        # THEN it points at its own DLQ after the catalog's receive count, and the DLQ keeps messages 14 days
        assert redrive["maxReceiveCount"] == spec.max_receive_count
        assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": [logical_of[spec.dlq_name], "Arn"]}
        assert by_name[spec.dlq_name]["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600
    dlq_names = {spec.dlq_name for spec in CATALOG.queues.values()}
    assert all("RedrivePolicy" in r["Properties"] for name, r in by_name.items() if name not in dlq_names)


def test_queues_are_encrypted_and_tls_only(synthesised: Synthesised) -> None:
    # GIVEN every queue and queue policy in the app
    queues = synthesised.all_resources("AWS::SQS::Queue")
    policies = synthesised.all_resources("AWS::SQS::QueuePolicy")
    # THEN each queue has server-side encryption and each policy denies non-TLS access
    assert queues and all(q["Properties"].get("SqsManagedSseEnabled") is True for q in queues.values())
    denied_insecure = [s for p in policies.values() for s in _statements(p)
                       if s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}]
    assert len(denied_insecure) >= len(queues)


def test_queue_visibility_is_at_least_six_times_its_consumers_timeout(synthesised: Synthesised) -> None:
    # GIVEN the deployed functions' timeouts and the queues' visibility timeouts
    functions = _by_property(synthesised.template("functions").find_resources("AWS::Lambda::Function"), "FunctionName")
    queues = _by_property(synthesised.template("messaging").find_resources("AWS::SQS::Queue"), "QueueName")
    consumed = [(plan, queue) for plan in synthesised.golden.plans for queue in plan.queues]
    assert consumed, "the catalog names at least one queue consumer"
    for plan, queue in consumed:
        # THEN a message is never redelivered while a (retrying) consumer may still be working on it
        timeout = functions[plan.name]["Properties"]["Timeout"]
        assert queues[queue.name]["Properties"]["VisibilityTimeout"] >= VISIBILITY_FACTOR * timeout


def test_s3_notifications_follow_the_catalog_rules(synthesised: Synthesised) -> None:
    # GIVEN the storage stack's buckets by name
    buckets = _by_property(synthesised.template("storage").find_resources("AWS::S3::Bucket"), "BucketName")
    for rule in CATALOG.notifications:
        # WHEN we look up the queue configurations of the rule's bucket
        configs = buckets[CATALOG.bucket(rule.bucket)]["Properties"]["NotificationConfiguration"]["QueueConfigurations"]
        filters = [
            {f["Name"]: f["Value"] for f in c.get("Filter", {}).get("S3Key", {}).get("Rules", [])} for c in configs
            if f"{pascal(rule.queue)}Queue" in json.dumps(c["Queue"])  # the export of that queue's ARN
        ]
        expected = {k: v for k, v in (("prefix", rule.prefix), ("suffix", rule.suffix)) if v}
        # THEN the rule's prefix/suffix filter sends events to the rule's queue
        assert expected in filters
    # AND each target queue admits S3 only from the catalog's bucket in this account
    policies = synthesised.template("messaging").find_resources("AWS::SQS::QueuePolicy")
    allows = [s for p in policies.values() for s in _statements(p) if s["Effect"] == "Allow"]
    for rule in CATALOG.notifications:
        assert any(s["Principal"] == {"Service": "s3.amazonaws.com"} and s["Action"] == "sqs:SendMessage"
                   and CATALOG.bucket(rule.bucket) in json.dumps(s["Condition"]["ArnLike"]) for s in allows)


def test_topics_are_kms_encrypted(synthesised: Synthesised) -> None:
    topics = synthesised.all_resources("AWS::SNS::Topic")
    assert topics and all("KmsMasterKeyId" in t["Properties"] for t in topics.values())


# --- storage ----------------------------------------------------------------------------------------------------


def test_every_bucket_is_encrypted_private_and_tls_only(synthesised: Synthesised) -> None:
    # GIVEN every bucket in every stack
    buckets = synthesised.all_resources("AWS::S3::Bucket")
    policies = synthesised.all_resources("AWS::S3::BucketPolicy")
    assert len(buckets) == len(CATALOG.buckets) + 2  # + the server-access-log bucket and the console's site
    for bucket in buckets.values():
        props = bucket["Properties"]
        # THEN it is encrypted at rest and blocks every kind of public access
        assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True}
    # AND the catalog's buckets use the stage's KMS key, are versioned as the catalog says, and log access
    for spec in CATALOG.buckets.values():
        props = _by_property(buckets, "BucketName")[spec.name]["Properties"]
        rule = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
        if spec.log_delivery:  # CloudFront's standard-log delivery cannot write with a customer KMS key
            assert rule == {"SSEAlgorithm": "AES256"} and props["OwnershipControls"]["Rules"] == [
                {"ObjectOwnership": "BucketOwnerPreferred"}]
            continue
        assert rule["SSEAlgorithm"] == "aws:kms" and "KMSMasterKeyID" in rule
        assert ("VersioningConfiguration" in props) == (spec.versioned or spec.object_lock)
        assert "LoggingConfiguration" in props
    # AND every bucket has a policy that denies non-TLS requests
    tls_denied = [json.dumps(p["Properties"]["Bucket"]) for p in policies.values() for s in _statements(p)
                  if s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}]
    assert len(tls_denied) == len(buckets)


def test_audit_bucket_has_object_lock_in_compliance_mode(synthesised: Synthesised) -> None:
    synthesised.template("storage").has_resource_properties("AWS::S3::Bucket", {
        "BucketName": CATALOG.bucket("audit"),
        "ObjectLockEnabled": True,
        "ObjectLockConfiguration": {"ObjectLockEnabled": "Enabled",
                                    "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": Match.any_value()}}},
        "VersioningConfiguration": {"Status": "Enabled"},
    })


def test_evidence_bucket_holds_by_legal_hold_only(synthesised: Synthesised) -> None:
    buckets = _by_property(synthesised.all_resources("AWS::S3::Bucket"), "BucketName")
    props = buckets[CATALOG.bucket("evidence")]["Properties"]
    assert props["ObjectLockEnabled"] is True and "Rule" not in props.get("ObjectLockConfiguration", {})


def test_footage_expires_after_the_retention_the_privacy_policy_states(synthesised: Synthesised) -> None:
    days = CATALOG.buckets["footage"].expire_after_days
    assert days == Settings().footage_retention_days
    synthesised.template("storage").has_resource_properties("AWS::S3::Bucket", {
        "BucketName": CATALOG.bucket("footage"),
        "LifecycleConfiguration": {"Rules": Match.array_with([
            Match.object_like({"ExpirationInDays": days, "Status": "Enabled"})])},
    })


# --- data -------------------------------------------------------------------------------------------------------


def test_tables_have_catalog_keys_pitr_ttl_and_indexes(synthesised: Synthesised) -> None:
    tables = _by_property(synthesised.template("data").find_resources("AWS::DynamoDB::Table"), "TableName")
    assert set(tables) == {spec.name for spec in CATALOG.tables.values()}
    for spec in CATALOG.tables.values():
        props = tables[spec.name]["Properties"]
        keys = {k["AttributeName"]: k["KeyType"] for k in props["KeySchema"]}
        assert keys == {spec.partition_key: "HASH", **({spec.sort_key: "RANGE"} if spec.sort_key else {})}
        types = {a["AttributeName"]: a["AttributeType"] for a in props["AttributeDefinitions"]}
        assert all(types[name] == "N" for name in spec.number_keys)
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert props["SSESpecification"]["SSEEnabled"] is True
        if spec.ttl_attribute:
            assert props["TimeToLiveSpecification"] == {"AttributeName": spec.ttl_attribute, "Enabled": True}
        else:
            assert "TimeToLiveSpecification" not in props
        assert {i["IndexName"] for i in props.get("GlobalSecondaryIndexes", [])} == {i.name for i in spec.indexes}


def test_each_catalog_secret_is_generated_kms_encrypted_and_retained(synthesised: Synthesised) -> None:
    # GIVEN the data stack's secrets and its key
    template = synthesised.template("data")
    secrets = _by_property(template.find_resources("AWS::SecretsManager::Secret"), "Name")
    (key_id,) = template.find_resources("AWS::KMS::Key")
    # THEN each catalog secret exists under its catalog name, with a value generated at creation (never in the
    # template), encrypted with the data key, and kept when the stack is deleted or the resource replaced
    assert set(secrets) == {spec.name for spec in CATALOG.secrets.values()}
    for secret in secrets.values():
        props = secret["Properties"]
        assert props["GenerateSecretString"]["PasswordLength"] >= 32
        assert "SecretString" not in props
        assert props["KmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
        assert secret["DeletionPolicy"] == secret["UpdateReplacePolicy"] == "Retain"
        # AND it is not rotated, on purpose and said so (a new key breaks the linkage of a patient's studies)
        assert not template.find_resources("AWS::SecretsManager::RotationSchedule")
        (ack,) = [r for r in secret["Metadata"]["cdk_nag"]["rules_to_suppress"] if r["id"] == "AwsSolutions-SMG4"]
        assert "linkage" in ack["reason"]


def test_only_the_xray_reader_may_read_the_deid_key(synthesised: Synthesised) -> None:
    # GIVEN every IAM statement of every stack, and the reader's function
    data = synthesised.golden.data
    secret_ref = data.resolve(data.secrets["deid-key"].secret_arn)["Ref"]
    (reader,) = [p for p in synthesised.golden.plans if p.package == "xray_reader"]
    reader_role = _by_property(synthesised.template("functions").find_resources("AWS::Lambda::Function"),
                               "FunctionName")[reader.name]["Properties"]["Role"]["Fn::GetAtt"][0]
    readers: set[str] = set()
    for where, resource in synthesised.all_resources("AWS::IAM::Policy").items():
        for statement in _statements(resource):
            if secret_ref in json.dumps(statement["Resource"]):
                # THEN a statement naming the secret allows exactly GetSecretValue on exactly that secret
                assert statement["Action"] == "secretsmanager:GetSecretValue"
                assert secret_ref in json.dumps(_as_list(statement["Resource"])[0])
                assert len(_as_list(statement["Resource"])) == 1
                readers.update(json.dumps(role) for role in resource["Properties"]["Roles"])
                assert where.startswith(synthesised.golden.functions.stack_name)
    # AND the reader's role is the only one holding one
    assert readers == {json.dumps({"Ref": reader_role})}
    # AND it may decrypt with the data key only through Secrets Manager for that
    statements = _role_statements(synthesised, reader.name)
    via = [s for s in statements if "Condition" in s and s["Action"] == "kms:Decrypt"]
    assert len(via) == 1 and "secretsmanager." in json.dumps(via[0]["Condition"])


def test_only_agency_delivery_may_read_the_client_certificate_it_presents_for_mutual_tls(
        synthesised: Synthesised) -> None:
    # GIVEN a deployment that names the imported client certificate (the shared synthesis does)
    name = deployment_choices(STAGE)["agency_client_certificate_secret"]
    readers: set[str] = set()
    for resource in synthesised.all_resources("AWS::IAM::Policy").values():
        for statement in _statements(resource):
            naming = [json.dumps(arn) for arn in _as_list(statement["Resource"]) if f":secret:{name}" in json.dumps(arn)]
            if naming:
                # THEN each statement naming it allows exactly GetSecretValue, on that secret's ARN (its random
                # six-character suffix), not on a prefix of other secrets' names
                assert statement["Action"] == "secretsmanager:GetSecretValue"
                assert all(arn.endswith(f':secret:{name}-??????"]]}}') for arn in naming), naming
                readers.update(json.dumps(role) for role in resource["Properties"]["Roles"])
    # AND the agency-dispatch consumer's role is the only one holding one
    (delivery,) = [p for p in synthesised.golden.plans if p.package == "agency_dispatch"]
    functions = _by_property(synthesised.template("functions").find_resources("AWS::Lambda::Function"),
                             "FunctionName")
    assert readers == {json.dumps({"Ref": functions[delivery.name]["Properties"]["Role"]["Fn::GetAtt"][0]})}
    # AND the function is told where to read it, in the Settings field the wiring reads
    variables = functions[delivery.name]["Properties"]["Environment"]["Variables"]
    assert variables["AGENCY_CLIENT_CERTIFICATE_SECRET"] == name
    assert "agency_client_certificate_secret" in Settings.model_fields


# --- functions --------------------------------------------------------------------------------------------------


def _handler(function: Mapping[str, Any]) -> str:
    props = function["Properties"]
    return str(props["ImageConfig"]["Command"][0] if props.get("PackageType") == "Image" else props["Handler"])


def test_every_catalog_handler_is_a_python312_function_with_its_own_role(synthesised: Synthesised) -> None:
    # GIVEN the functions the catalog implies (queue consumers and schedule handlers)
    expected = {q.consumer for q in CATALOG.queues.values() if q.consumer} | {s.handler for s in CATALOG.schedules.values()}
    functions = synthesised.template("functions").find_resources("AWS::Lambda::Function")
    # THEN each is deployed once, with reserved concurrency, active tracing and a role of its own
    assert {_handler(f) for f in functions.values()} == expected
    roles = [json.dumps(f["Properties"]["Role"]) for f in functions.values()]
    assert len(set(roles)) == len(roles)
    for fn in functions.values():
        props = fn["Properties"]
        assert props["ReservedConcurrentExecutions"] >= 1
        assert props["TracingConfig"] == {"Mode": "Active"}
        # AND a zip function runs python3.12 with layers; an image function runs the python3.12 Lambda image
        if props.get("PackageType") == "Image":
            assert "Layers" not in props and "Runtime" not in props
        else:
            assert props["Runtime"] == "python3.12" and props["Layers"]


def test_container_image_functions_build_from_the_python312_lambda_image(synthesised: Synthesised) -> None:
    # GIVEN the Docker image assets of the functions and API stacks
    for stack in (synthesised.golden.functions, synthesised.golden.api):
        assets = json.loads((synthesised.outdir / f"{stack.stack_name}.assets.json").read_text())["dockerImages"]
        assert assets, f"{stack.stack_name} ships at least one container-image function"
        for asset in assets.values():
            dockerfile = (synthesised.outdir / asset["source"]["directory"] / "Dockerfile").read_text()
            # THEN the image is AWS's python3.12 Lambda base image, with the app code copied in
            assert "FROM public.ecr.aws/lambda/python:3.12" in dockerfile
            assert (synthesised.outdir / asset["source"]["directory"] / "chalicelib" / "catalog.py").is_file()


def test_function_environment_is_settings_fields_upper_cased(synthesised: Synthesised) -> None:
    # GIVEN every function's environment (functions, API)
    functions = {where: fn for where, fn in synthesised.all_resources("AWS::Lambda::Function").items()
                 if CDK_DEPLOYMENT_HANDLER not in where}  # CDK's own handler that copies the console's files
    allowed = {name.upper() for name in Settings.model_fields}
    for fn in functions.values():
        variables = fn["Properties"]["Environment"]["Variables"]
        # THEN every variable is a Settings field (the one env reader), and the stage is the catalog's
        assert set(variables) <= allowed
        assert variables["STAGE"] == STAGE


def test_every_function_has_its_event_source_or_schedule(synthesised: Synthesised) -> None:
    template = synthesised.template("functions")
    functions = template.find_resources("AWS::Lambda::Function")
    logical_of = {f["Properties"]["FunctionName"]: logical for logical, f in functions.items()}
    for plan in synthesised.golden.plans:
        assert plan.queues or plan.schedules
        for queue in plan.queues:
            # THEN each consumed queue has a mapping with partial batch failure and the catalog's batch size
            template.has_resource_properties("AWS::Lambda::EventSourceMapping", {
                "FunctionName": {"Ref": logical_of[plan.name]},
                "BatchSize": queue.batch_size,
                "FunctionResponseTypes": ["ReportBatchItemFailures"],
                "EventSourceArn": Match.any_value(),
            })
        for schedule in plan.schedules:
            template.has_resource_properties("AWS::Events::Rule", {
                "Name": schedule.name, "ScheduleExpression": schedule.rate, "State": "ENABLED",
                "Targets": [Match.object_like({"Arn": {"Fn::GetAtt": [logical_of[plan.name], "Arn"]}})],
            })


def test_every_function_has_error_throttle_and_duration_alarms(synthesised: Synthesised) -> None:
    alarms = synthesised.template("observability").find_resources("AWS::CloudWatch::Alarm")
    watched = {(a["Properties"]["MetricName"], d["Value"]) for a in alarms.values()
               for d in a["Properties"].get("Dimensions", []) if d["Name"] == "FunctionName"}
    names = [plan.name for plan in synthesised.golden.plans] + [synthesised.golden.api.function_name]
    for name in names:
        assert {("Errors", name), ("Throttles", name), ("Duration", name)} <= watched
    p99 = [a for a in alarms.values() if a["Properties"]["MetricName"] == "Duration"]
    assert p99 and all(a["Properties"]["ExtendedStatistic"] == "p99" for a in p99)


def test_every_queue_has_dlq_depth_and_age_alarms(synthesised: Synthesised) -> None:
    alarms = synthesised.template("observability").find_resources("AWS::CloudWatch::Alarm")
    watched = {(a["Properties"]["MetricName"], d["Value"]) for a in alarms.values()
               for d in a["Properties"].get("Dimensions", []) if d["Name"] == "QueueName"}
    for spec in CATALOG.queues.values():
        assert ("ApproximateNumberOfMessagesVisible", spec.dlq_name) in watched
        assert ("ApproximateAgeOfOldestMessage", spec.name) in watched
    assert all(a["Properties"]["AlarmActions"] for a in alarms.values())
    synthesised.template("observability").resource_count_is("AWS::CloudWatch::Dashboard", 1)


# --- api, video, batch ------------------------------------------------------------------------------------------


def test_api_runs_the_chalice_app_with_throttling_and_a_usage_plan(synthesised: Synthesised) -> None:
    template = synthesised.template("api")
    template.has_resource_properties("AWS::Lambda::Function", {"PackageType": "Image",
                                                               "ImageConfig": {"Command": ["app.app"]}})
    template.has_resource_properties("AWS::ApiGateway::Stage", {
        "MethodSettings": Match.array_with([Match.object_like({"ThrottlingRateLimit": Match.any_value(),
                                                               "ThrottlingBurstLimit": Match.any_value()})]),
        "AccessLogSetting": Match.object_like({"DestinationArn": Match.any_value()}),
        "TracingEnabled": True,
    })
    template.has_resource_properties("AWS::ApiGateway::UsagePlan", {
        "Throttle": {"RateLimit": Match.any_value(), "BurstLimit": Match.any_value()},
        "ApiStages": Match.array_with([Match.object_like({"Stage": Match.any_value()})]),
    })


def test_the_api_accepts_the_console_pools_id_tokens_for_its_own_client(synthesised: Synthesised) -> None:
    environment = next(r["Properties"]["Environment"]["Variables"]
                       for r in synthesised.template("api").find_resources("AWS::Lambda::Function").values()
                       if r["Properties"].get("ImageConfig", {}).get("Command") == ["app.app"])
    # the issuer names the console stack's user pool, the audience its console client (imported across stacks)
    issuer, client = json.dumps(environment["SIGN_IN_ISSUER"]), json.dumps(environment["SIGN_IN_CLIENT_IDS"])
    assert "cognito-idp." in issuer and "Fn::ImportValue" in issuer and "Users" in issuer
    assert "Fn::ImportValue" in client and "ConsoleClient" in client


def test_media_distribution_requires_signed_urls_over_https_with_ipv6_off(synthesised: Synthesised) -> None:
    template = synthesised.template("video")
    template.has_resource_properties("AWS::CloudFront::Distribution", {"DistributionConfig": Match.object_like({
        "IPV6Enabled": False,
        "DefaultCacheBehavior": Match.object_like({
            "TrustedKeyGroups": [Match.any_value()], "ViewerProtocolPolicy": "https-only"}),
    })})
    distribution = next(iter(template.find_resources("AWS::CloudFront::Distribution").values()))
    origins = distribution["Properties"]["DistributionConfig"]["Origins"]
    assert len(origins) == 2 and all("OriginAccessControlId" in origin for origin in origins)
    assert CATALOG.bucket("media") in json.dumps(origins)
    template.has_parameter("MediaSigningPublicKey", {"Type": "String"})


def test_every_behaviour_runs_the_viewer_request_function_with_the_revocation_store(synthesised: Synthesised) -> None:
    template = synthesised.template("video")
    functions = template.find_resources("AWS::CloudFront::Function")
    assert len(functions) == 1
    (function_id, function), = functions.items()
    stores = template.find_resources("AWS::CloudFront::KeyValueStore")
    assert len(stores) == 1
    config = function["Properties"]["FunctionConfig"]
    assert config["Runtime"] == "cloudfront-js-2.0"
    assert config["KeyValueStoreAssociations"] == [
        {"KeyValueStoreARN": {"Fn::GetAtt": [next(iter(stores)), "Arn"]}}]
    # the deployed code is the file the local edge runs under Node
    assert function["Properties"]["FunctionCode"] == (Path(__file__).parents[2] / "edge" / "viewer-request.js").read_text()
    distribution = next(iter(template.find_resources("AWS::CloudFront::Distribution").values()))["Properties"]
    config = distribution["DistributionConfig"]
    behaviours = [config["DefaultCacheBehavior"], *config["CacheBehaviors"]]
    assert sorted(b.get("PathPattern", "default") for b in behaviours) == ["default", "live/*", "live/*/index.m3u8"]
    for behaviour in behaviours:
        assert behaviour["FunctionAssociations"] == [
            {"EventType": "viewer-request", "FunctionARN": {"Fn::GetAtt": [function_id, "FunctionARN"]}}]
        assert behaviour["TrustedKeyGroups"] and behaviour["ViewerProtocolPolicy"] == "https-only"


def test_edge_requests_are_logged_to_the_audit_pipeline_without_a_cfr3_suppression(synthesised: Synthesised) -> None:
    template = synthesised.template("video")
    resource = next(iter(template.find_resources("AWS::CloudFront::Distribution").values()))
    logging = resource["Properties"]["DistributionConfig"]["Logging"]
    assert CATALOG.bucket("edge-logs") in json.dumps(logging["Bucket"]) and logging["Prefix"] == "cloudfront/"
    suppressed = json.dumps(resource.get("Metadata", {}).get("cdk_nag", {}))
    assert "CFR3" not in suppressed and "CFR1" in suppressed
    # the log files reach functions/edge_access_log through the catalog's S3 → SQS rule
    assert any(rule.bucket == "edge-logs" and rule.queue == "edge-logs" and rule.prefix == "cloudfront/"
               for rule in CATALOG.notifications)
    assert CATALOG.queue("edge-logs").consumer == "functions.edge_access_log.handler.lambda_handler"
    store_arn = next(iter(template.find_resources("AWS::CloudFront::KeyValueStore")))
    api_policy = json.dumps(synthesised.all_resources("AWS::IAM::Policy"))
    assert "cloudfront-keyvaluestore:PutKey" in api_policy and store_arn


def test_batch_runs_one_gpu_shard_with_retries_and_timeout(synthesised: Synthesised) -> None:
    template = synthesised.template("batch")
    template.has_resource_properties("AWS::Batch::JobDefinition", {
        "Type": "container",
        "ContainerProperties": Match.object_like({
            "ResourceRequirements": Match.array_with([{"Type": "GPU", "Value": "1"}]),
            "Image": Match.any_value(),
        }),
        "RetryStrategy": Match.object_like({"Attempts": 3, "EvaluateOnExit": Match.any_value()}),
        "Timeout": {"AttemptDurationSeconds": 1800},
    })
    template.has_resource_properties("AWS::Batch::ComputeEnvironment", {"ComputeResources": Match.object_like({
        "MinvCpus": 0, "InstanceTypes": Match.array_with([Match.string_like_regexp(r"^g\d")])})})
    template.resource_count_is("AWS::Batch::JobQueue", 1)
    # The image is a Docker asset built from functions/search_shard/Dockerfile (staged, built at deploy).
    assets = json.loads((synthesised.outdir / f"{synthesised.golden.batch.stack_name}.assets.json").read_text())
    assert assets["dockerImages"], "the job's image is a Docker image asset"


class _RecordingBatch:
    """Stands in for the boto3 Batch client at the AWS boundary: records the job it is asked to submit."""

    def __init__(self) -> None:
        self.submitted: dict[str, Any] = {}

    def submit_job(self, **request: Any) -> dict[str, str]:
        self.submitted = request
        return {"jobId": "job-1"}


def test_search_submits_to_the_job_queue_and_definition_the_batch_stack_creates(synthesised: Synthesised) -> None:
    # GIVEN the platform's Batch executor for this stage, and the synthesised batch stack
    client = _RecordingBatch()
    executor = build_batch_executor(Settings(stage=STAGE), batch_client=client)
    # WHEN a search submits its shards
    executor.submit("search-1", "functions.search_shard.handler.run_shard", 4, {"search_id": "s1"})
    # THEN the job queue and definition it names are the ones the cloud stack defines
    template = synthesised.template("batch")
    template.has_resource_properties("AWS::Batch::JobQueue", {"JobQueueName": client.submitted["jobQueue"]})
    template.has_resource_properties("AWS::Batch::JobDefinition",
                                     {"JobDefinitionName": client.submitted["jobDefinition"]})
    # AND the API (which submits) may submit exactly there
    api_policies = synthesised.template("api").find_resources("AWS::IAM::Policy")
    submit = [s for p in api_policies.values() for s in _statements(p) if s["Action"] == "batch:SubmitJob"]
    assert len(submit) == 1
    assert any(client.submitted["jobQueue"] in json.dumps(r) for r in submit[0]["Resource"])


# --- IAM, cdk-nag, cfn-lint -------------------------------------------------------------------------------------


def test_no_iam_statement_allows_star_actions_or_resources_beyond_the_documented_exceptions(
        synthesised: Synthesised) -> None:
    offenders = []
    for resource_type in IAM_POLICY_TYPES:
        for where, resource in synthesised.all_resources(resource_type).items():
            for statement in _statements(resource):
                if statement["Effect"] != "Allow":
                    continue
                actions = _as_list(statement.get("Action", []))
                resources = _as_list(statement.get("Resource", []))
                if "*" in actions or any(a.endswith(":*") for a in actions):
                    offenders.append((where, actions, resources))
                if "*" in resources and not set(actions) <= STAR_RESOURCE_EXCEPTIONS:
                    offenders.append((where, actions, resources))
    assert offenders == []


def test_cdk_nag_acknowledgements_all_carry_a_reason(synthesised: Synthesised) -> None:
    # GIVEN the acknowledgements cdk-nag copied into the templates
    acknowledged = [rule for template in synthesised.templates.values()
                    for resource in template.to_json()["Resources"].values()
                    for rule in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])]
    nag = [rule for rule in acknowledged if rule["id"].startswith("AwsSolutions-")]
    # THEN there are some (the pack ran), and every one explains itself
    assert nag
    assert all(len(rule["reason"]) >= 30 for rule in nag)
    assert all(rule["reason"].strip() for rule in acknowledged)  # CDK's own acknowledgements too
    # AND the validation report lists no failing plugin (synthesis itself raises on an unacknowledged error)
    report = json.loads((synthesised.outdir / "validation-report.json").read_text())
    assert all(plugin.get("summary", {}).get("status") != "failure" for plugin in report["pluginReports"])


def test_cdk_nag_is_live_and_rejects_a_bucket_without_tls_or_access_logs(tmp_path: Any) -> None:
    # GIVEN a stack with a bucket that breaks AwsSolutions rules, checked like the real app
    app = App(outdir=str(tmp_path))
    stack = Stack(app, "Bad")
    s3.Bucket(stack, "Open")
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    # WHEN it is synthesised THEN the pack fails synthesis, naming the rule
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    assert "AwsSolutions-S" in (tmp_path / "validation-report.json").read_text()


def test_cfn_lint_passes_on_every_synthesised_template(synthesised: Synthesised) -> None:
    files = synthesised.template_files()
    assert len(files) == len(synthesised.golden.stacks)
    config = ManualArgs(ignore_checks=CFN_LINT_IGNORED, regions=["ap-northeast-2"])
    matches = [f"{m.filename}:{m.linenumber} {m.rule.id} {m.message}" for path in files
               for m in lint_file(path, config=config)]
    assert matches == []


# --- names: the local platform and the CDK app agree -----------------------------------------------------------


def test_local_platform_and_cdk_app_use_the_same_resource_names(synthesised: Synthesised, aws: Any) -> None:
    # GIVEN the resources the local platform provisions (moto, stage 'test') and the synthesised templates
    assert aws.settings.stage == STAGE
    local_buckets = {b["Name"] for b in aws.client("s3").list_buckets()["Buckets"]}
    local_queues = {url.rsplit("/", 1)[1] for url in aws.client("sqs").list_queues().get("QueueUrls", [])}
    local_tables = set(aws.client("dynamodb").list_tables()["TableNames"])
    local_topics = {t["TopicArn"].rsplit(":", 1)[1] for t in aws.client("sns").list_topics()["Topics"]}
    local_secrets = {s["Name"] for s in aws.client("secretsmanager").list_secrets()["SecretList"]}
    cloud_buckets = set(_by_property(synthesised.all_resources("AWS::S3::Bucket"), "BucketName"))
    cloud_queues = set(_by_property(synthesised.all_resources("AWS::SQS::Queue"), "QueueName"))
    cloud_tables = set(_by_property(synthesised.all_resources("AWS::DynamoDB::Table"), "TableName"))
    cloud_secrets = set(_by_property(synthesised.all_resources("AWS::SecretsManager::Secret"), "Name"))
    catalog_topics = {spec.name for spec in CATALOG.topics.values()}
    cloud_topics = set(_by_property(synthesised.all_resources("AWS::SNS::Topic"), "TopicName")) & (
        catalog_topics | local_topics)
    # THEN both sides name exactly the same buckets, queues, tables, topics and secrets
    assert cloud_buckets == local_buckets
    assert cloud_queues == local_queues
    assert cloud_tables == local_tables
    assert cloud_secrets == local_secrets == {spec.name for spec in CATALOG.secrets.values()}
    assert cloud_topics == local_topics == catalog_topics
    # AND the schedules are the catalog's, which the local scheduler runs by the same names
    rules = set(_by_property(synthesised.all_resources("AWS::Events::Rule"), "Name"))
    assert rules == {spec.name for spec in CATALOG.schedules.values()}


def _role_statements(synthesised: Synthesised, function_name: str) -> list[dict[str, Any]]:
    """Every statement of the policies attached to one function's role."""
    template = synthesised.template("functions")
    function = _by_property(template.find_resources("AWS::Lambda::Function"), "FunctionName")[function_name]
    role = {"Ref": function["Properties"]["Role"]["Fn::GetAtt"][0]}
    return [s for p in template.find_resources("AWS::IAM::Policy").values() if role in p["Properties"]["Roles"]
            for s in _statements(p)]


def test_search_sweeper_follows_jobs_ends_searches_and_sends_only_to_112(synthesised: Synthesised) -> None:
    # GIVEN the sweeper's function, from its catalog schedule
    (plan,) = [p for p in synthesised.golden.plans if p.package == "search_sweeper"]
    assert [s.name for s in plan.schedules] == [CATALOG.schedules["search-sweeper"].name]
    statements = _role_statements(synthesised, plan.name)
    actions = {a for s in statements for a in _as_list(s["Action"])}
    # THEN it may follow the search's jobs but never submit one
    assert "batch:DescribeJobs" in actions and "batch:SubmitJob" not in actions
    # AND it sends to the agency-dispatch queue only (answers reach 112 like every dispatch), writes answers to the
    # media bucket and state to the records table
    sends = [s for s in statements if "sqs:SendMessage" in _as_list(s["Action"])]
    assert len(sends) == 1 and CATALOG.queue("agency-dispatch").name in json.dumps(sends[0]["Resource"])
    assert all(spec.name not in json.dumps(sends[0]["Resource"])
               for spec in CATALOG.queues.values() if spec.logical != "agency-dispatch")
    puts = [json.dumps(s["Resource"]) for s in statements if "s3:PutObject" in _as_list(s["Action"])]
    assert puts and all(CATALOG.bucket("media") in r for r in puts)
    writes = [json.dumps(s["Resource"]) for s in statements if "dynamodb:PutItem" in _as_list(s["Action"])]
    assert writes and all(CATALOG.table("records") in w for w in writes)


def test_position_fixes_are_written_by_the_api_only_and_read_by_the_trip_watchdog(synthesised: Synthesised) -> None:
    # GIVEN every statement naming the positions table, per stack and role
    positions = f"table/{CATALOG.table('positions')}"
    readers, writers = set(), set()
    for where, resource in synthesised.all_resources("AWS::IAM::Policy").items():
        for statement in _statements(resource):
            if positions in json.dumps(statement["Resource"]):
                actions = set(_as_list(statement["Action"]))
                roles = {f"{where.split('/')[0]} {json.dumps(r)}" for r in resource["Properties"]["Roles"]}
                readers |= roles if "dynamodb:Query" in actions else set()
                writers |= roles if "dynamodb:BatchWriteItem" in actions else set()
    # THEN the watchdog (which judges stationary trips) may query it, and only the API's role writes fixes
    (watchdog,) = [p for p in synthesised.golden.plans if p.package == "trip_watchdog"]
    assert any("dynamodb:Query" in _as_list(s["Action"]) and positions in json.dumps(s["Resource"])
               for s in _role_statements(synthesised, watchdog.name))
    assert not any("dynamodb:PutItem" in _as_list(s["Action"]) and positions in json.dumps(s["Resource"])
                   for s in _role_statements(synthesised, watchdog.name))
    assert len(readers) == 2 and len(writers) == 1
    assert next(iter(writers)).startswith(synthesised.golden.api.stack_name)


def test_topic_subscribers_are_the_catalogs_locally_and_in_the_cloud(synthesised: Synthesised, aws: Any) -> None:
    # GIVEN the catalog's topic → queue subscriptions (raw delivery), e.g. center-notify → pacs-delivery
    wanted = {(CATALOG.topics[sub.topic].name, CATALOG.queue(sub.queue).name) for sub in CATALOG.subscriptions}
    assert (CATALOG.topic("center-notify"), CATALOG.queue("pacs-delivery").name) in wanted
    # WHEN we read the local platform's subscriptions and the synthesised ones
    sns = aws.client("sns")
    local = set()
    for sub in sns.list_subscriptions()["Subscriptions"]:
        raw = sns.get_subscription_attributes(SubscriptionArn=sub["SubscriptionArn"])["Attributes"]
        assert raw.get("RawMessageDelivery") == "true"
        local.add((sub["TopicArn"].rsplit(":", 1)[1], sub["Endpoint"].rsplit(":", 1)[1]))
    cloud = [s["Properties"] for s in synthesised.all_resources("AWS::SNS::Subscription").values()]
    # THEN both sides subscribe exactly the catalog's queues, with raw message delivery, over SQS
    assert local == wanted
    assert len(cloud) == len(wanted)
    assert all(p["Protocol"] == "sqs" and p["RawMessageDelivery"] is True for p in cloud)
