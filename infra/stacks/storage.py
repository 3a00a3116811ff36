"""Storage: the catalog's buckets (KMS, private, TLS-only, versioned), footage expiry, the Object Lock audit archive."""

from __future__ import annotations

from typing import Any

from aws_cdk import Aws, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from chalicelib.catalog import BucketSpec, ResourceCatalog
from infra.nag import suppress
from infra.names import infra_name, pascal
from infra.stacks.messaging import MessagingStack

NONCURRENT_EXPIRY = Duration.days(90)
# A page's presigned POST (a form, no preflight): any origin, since the signed policy authorizes the upload and
# the console's origin is not known here (its stack comes later); CORS only lets the page read S3's answer.
BROWSER_UPLOADS = s3.CorsRule(id="browser-uploads", allowed_methods=[s3.HttpMethods.POST], allowed_origins=["*"],
                              exposed_headers=["ETag", "Location"], max_age=600)


class StorageStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, catalog: ResourceCatalog, messaging: MessagingStack,
                 audit_retention_days: int, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.add_stack_dependency(messaging, "bucket notifications target the messaging stack's queues")
        self.key = kms.Key(self, "DataKey", alias=f"alias/{infra_name(catalog.stage, 'storage')}",
                           enable_key_rotation=True, removal_policy=RemovalPolicy.RETAIN,
                           description="Encrypts every Golden Time bucket.")
        self.access_logs = s3.Bucket(
            self, "AccessLogs", encryption=s3.BucketEncryption.S3_MANAGED,  # log delivery supports SSE-S3 only
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL, enforce_ssl=True, versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED, removal_policy=RemovalPolicy.RETAIN,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(365), noncurrent_version_expiration=NONCURRENT_EXPIRY)],
        )
        suppress(self.access_logs, "S1", "This is the server-access-log target; logging it into itself would loop.")
        self.buckets: dict[str, s3.Bucket] = {
            spec.logical: self._bucket(spec, audit_retention_days) for spec in catalog.buckets.values()
        }
        for bucket, rules in _rules_by_bucket(catalog).items():
            cfn = self.buckets[bucket].node.default_child
            assert isinstance(cfn, s3.CfnBucket)
            cfn.notification_configuration = s3.CfnBucket.NotificationConfigurationProperty(queue_configurations=[
                s3.CfnBucket.QueueConfigurationProperty(
                    event=event, queue=messaging.queues[rule.queue].queue_arn,
                    filter=_key_filter(rule.prefix, rule.suffix),
                )
                for rule in rules for event in rule.events
            ])
        self._allow_cloudfront(self.buckets["media"])

    def _bucket(self, spec: BucketSpec, audit_retention_days: int) -> s3.Bucket:
        lifecycle: list[s3.LifecycleRule] = []
        if spec.expire_after_days is not None:
            lifecycle.append(s3.LifecycleRule(id="retention", expiration=Duration.days(spec.expire_after_days),
                                              abort_incomplete_multipart_upload_after=Duration.days(1)))
        if spec.versioned and not spec.object_lock:
            lifecycle.append(s3.LifecycleRule(id="noncurrent", noncurrent_version_expiration=NONCURRENT_EXPIRY))
        if spec.log_delivery:  # CloudFront's log delivery writes with ACLs and cannot use a customer KMS key
            return s3.Bucket(
                self, pascal(spec.logical) + "Bucket", bucket_name=spec.name,
                encryption=s3.BucketEncryption.S3_MANAGED, block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
                enforce_ssl=True, object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
                lifecycle_rules=lifecycle or None,
                server_access_logs_bucket=self.access_logs, server_access_logs_prefix=f"{spec.logical}/",
                removal_policy=RemovalPolicy.RETAIN,
            )
        return s3.Bucket(
            self, pascal(spec.logical) + "Bucket", bucket_name=spec.name,
            encryption=s3.BucketEncryption.KMS, encryption_key=self.key, bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL, enforce_ssl=True,
            versioned=spec.versioned or spec.object_lock,
            object_lock_enabled=spec.object_lock or None,
            object_lock_default_retention=(s3.ObjectLockRetention.compliance(Duration.days(audit_retention_days))
                                           if spec.object_lock and not spec.legal_hold_only else None),
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=lifecycle or None,
            server_access_logs_bucket=self.access_logs, server_access_logs_prefix=f"{spec.logical}/",
            cors=[BROWSER_UPLOADS] if spec.browser_uploads else None,
            removal_policy=RemovalPolicy.RETAIN,
        )

    def _allow_cloudfront(self, bucket: s3.Bucket) -> None:
        """Origin access control: this account's CloudFront distributions may read the media bucket.

        The distribution lives in the video stack; naming its ARN here would make storage depend on video,
        which depends on storage, so the grant is scoped to the account's distributions instead.
        """
        source = {"StringEquals": {"AWS:SourceAccount": Aws.ACCOUNT_ID},
                  "ArnLike": {"AWS:SourceArn": f"arn:{Aws.PARTITION}:cloudfront::{Aws.ACCOUNT_ID}:distribution/*"}}
        principal = iam.ServicePrincipal("cloudfront.amazonaws.com")
        bucket.add_to_resource_policy(iam.PolicyStatement(
            sid="CloudFrontOacRead", principals=[principal], actions=["s3:GetObject"],
            resources=[bucket.arn_for_objects("*")], conditions=source,
        ))
        self.key.add_to_resource_policy(iam.PolicyStatement(
            sid="CloudFrontOacDecrypt", principals=[principal], actions=["kms:Decrypt"], resources=["*"],
            conditions=source,
        ))


def _rules_by_bucket(catalog: ResourceCatalog) -> dict[str, list[Any]]:
    grouped: dict[str, list[Any]] = {}
    for rule in catalog.notifications:
        grouped.setdefault(rule.bucket, []).append(rule)
    return grouped


def _key_filter(prefix: str, suffix: str) -> s3.CfnBucket.NotificationFilterProperty | None:
    rules = [s3.CfnBucket.FilterRuleProperty(name=name, value=value)
             for name, value in (("prefix", prefix), ("suffix", suffix)) if value]
    if not rules:
        return None
    return s3.CfnBucket.NotificationFilterProperty(s3_key=s3.CfnBucket.S3KeyFilterProperty(rules=rules))
