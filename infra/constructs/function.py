"""A Lambda function with its own role (least privilege), log group, settings environment and grants.

Grants are written out, not taken from the L2 ``grant*`` helpers: explicit actions (no ``s3:GetObject*`` or
``kms:GenerateDataKey*``) on ARNs built from the catalog's names, so the only wildcards left are object keys and
index names inside one named bucket or table, each acknowledged by its exact finding.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from chalicelib.catalog import ResourceCatalog
from infra.constructs.packaging import FunctionCode
from infra.nag import suppress
from infra.names import SEARCH_JOB_DEFINITION, SEARCH_JOB_QUEUE, infra_name
from infra.profiles import FunctionProfile

LOG_RETENTION = logs.RetentionDays.THREE_MONTHS
# X-Ray's PutTraceSegments/PutTelemetryRecords accept no resource-level scoping: the documented "*" exception.
XRAY_ACTIONS = ("xray:PutTraceSegments", "xray:PutTelemetryRecords")
# Batch's DescribeJobs accepts no resource-level scoping either (jobs are named by id after submission).
BATCH_DESCRIBE_ACTIONS = ("batch:DescribeJobs",)

_BUCKET_READ = ("s3:GetObject",)
_BUCKET_WRITE = ("s3:PutObject",)
_BUCKET_DELETE = ("s3:DeleteObject",)
_TABLE_READ = ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:ConditionCheckItem",
               "dynamodb:DescribeTable")
_TABLE_WRITE = ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem")


@dataclass(frozen=True)
class DataPlane:
    """What functions can be granted: the catalog's names, the keys that encrypt them, and the queue objects."""

    catalog: ResourceCatalog
    storage_key_arn: str
    table_key_arn: str
    messaging_key_arn: str
    queues: dict[str, sqs.IQueue]
    live_video_policy: iam.IManagedPolicy | None
    signing_secret_name: str
    secret_arns: dict[str, str]
    secret_key_arn: str
    revocation_kvs_arn: str | None = None
    agency_certificate_secret_name: str | None = None  # imported by the operator where agencies require mTLS


def bucket_arn(name: str) -> str:
    return f"arn:{Aws.PARTITION}:s3:::{name}"


def table_arn(name: str) -> str:
    return f"arn:{Aws.PARTITION}:dynamodb:{Aws.REGION}:{Aws.ACCOUNT_ID}:table/{name}"


def nag_finding(arn: str) -> str:
    """The form cdk-nag prints a resource in: pseudo parameters as ``<AWS::X>``."""
    for token, name in ((Aws.PARTITION, "AWS::Partition"), (Aws.REGION, "AWS::Region"),
                        (Aws.ACCOUNT_ID, "AWS::AccountId")):
        arn = arn.replace(token, f"<{name}>")
    return f"Resource::{arn}"


class GtFunction(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, function_name: str, code: FunctionCode,
                 profile: FunctionProfile, timeout_s: int, environment: dict[str, str], plane: DataPlane) -> None:
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(self, "Logs", log_group_name=f"/aws/lambda/{function_name}",
                                       retention=LOG_RETENTION, removal_policy=RemovalPolicy.RETAIN)
        self.role = iam.Role(self, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                             description=f"{function_name}: only what its profile names")
        self.role.add_to_policy(iam.PolicyStatement(
            actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[self.log_group.log_group_arn]))
        self.role.add_to_policy(iam.PolicyStatement(actions=list(XRAY_ACTIONS), resources=["*"]))
        self.function = lambda_.Function(
            self, "Function", function_name=function_name, runtime=code.runtime, handler=code.handler,
            code=code.code, layers=code.layers or None, memory_size=profile.memory_mb,
            timeout=Duration.seconds(timeout_s),
            reserved_concurrent_executions=profile.reserved_concurrency, role=self.role,
            environment=environment, tracing=lambda_.Tracing.PASS_THROUGH, log_group=self.log_group,
            architecture=lambda_.Architecture.X86_64,
        )
        # Active tracing without CDK adding its own X-Ray statement (ours above is the same, stated once).
        cfn = self.function.node.default_child
        assert isinstance(cfn, lambda_.CfnFunction)
        cfn.tracing_config = lambda_.CfnFunction.TracingConfigProperty(mode="Active")
        wildcards = grant(self.role, profile, plane)
        if not profile.image:
            suppress(self, "L1", "python3.12 is pinned: the ML layer's manylinux wheels are built for it.")
        star_reason = "X-Ray trace upload supports no resource-level permissions"
        if profile.batch_submit or profile.batch_follow:
            star_reason += ", nor does batch:DescribeJobs (the search follows its job by id)"
        suppress(self.role, "IAM5", star_reason + ".", ["Resource::*"])
        acknowledge_wildcards(self.role, wildcards)


def acknowledge_wildcards(role: iam.IRole, wildcards: list[str]) -> None:
    if wildcards:
        suppress(role, "IAM5", "Object keys and index names inside one named bucket or table (and the revisions "
                 "of the one search job definition), which the role uses by design; the bucket, table or job "
                 "definition itself is named exactly.", wildcards)

def _allow(role: iam.IRole, actions: tuple[str, ...], resources: list[str]) -> None:
    role.add_to_principal_policy(iam.PolicyStatement(actions=sorted(set(actions)), resources=resources))

def grant(role: iam.IRole, profile: FunctionProfile, plane: DataPlane) -> list[str]:
    """Add the profile's statements to ``role``; returns the wildcard findings to acknowledge."""
    catalog, wildcards = plane.catalog, []
    storage_kms: set[str] = set()
    for logical, access in sorted(profile.buckets.items()):
        name = catalog.bucket(logical)
        actions: tuple[str, ...] = ()
        if access in ("read", "read_write", "read_delete"):
            actions += _BUCKET_READ
            _allow(role, ("s3:ListBucket",), [bucket_arn(name)])
            storage_kms.add("kms:Decrypt")
        if access in ("write", "read_write"):
            actions += _BUCKET_WRITE
            storage_kms.update(("kms:GenerateDataKey", "kms:Decrypt"))
        if access == "read_delete":
            actions += _BUCKET_DELETE
        if access == "held_write":
            actions += _BUCKET_READ + _BUCKET_WRITE + ("s3:PutObjectLegalHold",)
            storage_kms.update(("kms:GenerateDataKey", "kms:Decrypt"))
        if access == "held_release":
            actions += _BUCKET_READ + _BUCKET_DELETE + ("s3:PutObjectLegalHold", "s3:GetObjectLegalHold",
                                                        "s3:DeleteObjectVersion", "s3:GetObjectVersion")
            _allow(role, ("s3:ListBucket", "s3:ListBucketVersions"), [bucket_arn(name)])
            storage_kms.add("kms:Decrypt")
        _allow(role, actions, [f"{bucket_arn(name)}/*"])
        wildcards.append(nag_finding(f"{bucket_arn(name)}/*"))
    if storage_kms:
        _allow(role, tuple(storage_kms), [plane.storage_key_arn])
    table_kms = False
    for logical, table_access in sorted(profile.tables.items()):
        spec = catalog.tables[logical]
        resources = [table_arn(spec.name)]
        if spec.indexes:
            resources.append(f"{table_arn(spec.name)}/index/*")
            wildcards.append(nag_finding(f"{table_arn(spec.name)}/index/*"))
        _allow(role, _TABLE_READ + (_TABLE_WRITE if table_access == "read_write" else ()), resources)
        table_kms = True
    if table_kms:
        _allow(role, ("kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"), [plane.table_key_arn])
    if profile.publishes:
        _allow(role, ("sns:Publish",), [f"arn:{Aws.PARTITION}:sns:{Aws.REGION}:{Aws.ACCOUNT_ID}:{catalog.topic(t)}"
                                       for t in sorted(profile.publishes)])
        _allow(role, ("kms:Decrypt", "kms:GenerateDataKey"), [plane.messaging_key_arn])
    if profile.sends:
        _allow(role, ("sqs:SendMessage", "sqs:GetQueueUrl", "sqs:GetQueueAttributes"),
                    [f"arn:{Aws.PARTITION}:sqs:{Aws.REGION}:{Aws.ACCOUNT_ID}:{catalog.queue(q).name}"
                     for q in sorted(profile.sends)])
    if profile.sms:  # the origination identity is chosen per stage at deploy time: any of this account's
        sms_arn = f"arn:{Aws.PARTITION}:sms-voice:{Aws.REGION}:{Aws.ACCOUNT_ID}"
        sms_resources = [f"{sms_arn}:{kind}/*" for kind in ("phone-number", "sender-id", "pool", "configuration-set")]
        _allow(role, ("sms-voice:SendTextMessage",), sms_resources)
        wildcards.extend(nag_finding(arn) for arn in sms_resources)
    if profile.live_video and plane.live_video_policy is not None:
        role.add_managed_policy(plane.live_video_policy)
    if profile.batch_submit:
        batch_arn = f"arn:{Aws.PARTITION}:batch:{Aws.REGION}:{Aws.ACCOUNT_ID}"
        definition = f"{batch_arn}:job-definition/{infra_name(catalog.stage, SEARCH_JOB_DEFINITION)}:*"
        queue = f"{batch_arn}:job-queue/{infra_name(catalog.stage, SEARCH_JOB_QUEUE)}"
        _allow(role, ("batch:SubmitJob",), [queue, definition])
        wildcards.append(nag_finding(definition))
    if profile.batch_submit or profile.batch_follow:
        _allow(role, BATCH_DESCRIBE_ACTIONS, ["*"])
    if profile.revocation_kvs and plane.revocation_kvs_arn is not None:
        _allow(role, ("cloudfront-keyvaluestore:DescribeKeyValueStore", "cloudfront-keyvaluestore:PutKey",
                      "cloudfront-keyvaluestore:GetKey"), [plane.revocation_kvs_arn])
    if profile.signing_key:
        _allow(role, ("secretsmanager:GetSecretValue",),
                    [f"arn:{Aws.PARTITION}:secretsmanager:{Aws.REGION}:{Aws.ACCOUNT_ID}:secret:"
                     f"{plane.signing_secret_name}-??????"])
    if profile.agency_client_certificate and plane.agency_certificate_secret_name:
        _allow(role, ("secretsmanager:GetSecretValue",),
                    [f"arn:{Aws.PARTITION}:secretsmanager:{Aws.REGION}:{Aws.ACCOUNT_ID}:secret:"
                     f"{plane.agency_certificate_secret_name}-??????"])
    if profile.secrets:
        _allow(role, ("secretsmanager:GetSecretValue",), [plane.secret_arns[s] for s in sorted(profile.secrets)])
        role.add_to_principal_policy(iam.PolicyStatement(
            actions=["kms:Decrypt"], resources=[plane.secret_key_arn],
            conditions={"StringEquals": {"kms:ViaService": f"secretsmanager.{Aws.REGION}.amazonaws.com"}}))
    return wildcards
