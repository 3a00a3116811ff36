"""Video: CloudFront over the media bucket with a trusted key group (signed URLs), IPv6 off; live-video permissions."""

from __future__ import annotations

from typing import Any

from aws_cdk import Annotations, Aws, CfnOutput, CfnParameter, Stack
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from chalicelib.catalog import ResourceCatalog
from infra.constructs.function import nag_finding
from infra.nag import suppress
from infra.names import infra_name
from infra.stacks.storage import StorageStack


class VideoStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, catalog: ResourceCatalog, storage: StorageStack,
                 **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.add_stack_dependency(storage, "the distribution's origin is the media bucket")
        stage = catalog.stage
        public_key_pem = CfnParameter(
            self, "MediaSigningPublicKey", type="String", min_length=100,
            description="PEM public key (RSA 2048) whose private half, in Secrets Manager, signs media URLs.",
        )
        self.public_key = cloudfront.PublicKey(
            self, "SigningPublicKey", public_key_name=infra_name(stage, "media-signing"),
            encoded_key=public_key_pem.value_as_string, comment="Golden Time signed media links",
        )
        self.key_group = cloudfront.KeyGroup(self, "SigningKeyGroup", key_group_name=infra_name(stage, "media-signers"),
                                             items=[self.public_key])
        # Imported by name: the bucket policy that lets CloudFront read it is written in the storage stack.
        media = s3.Bucket.from_bucket_attributes(
            self, "Media", bucket_name=catalog.bucket("media"),
            bucket_regional_domain_name=f"{catalog.bucket('media')}.s3.{Aws.REGION}.{Aws.URL_SUFFIX}",
        )
        self.distribution = cloudfront.Distribution(
            self, "MediaDistribution", comment=infra_name(stage, "media"),
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(media),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
                trusted_key_groups=[self.key_group],
            ),
            # IP-bound custom policies compare the viewer's IPv4 address: IPv6 viewers would never match.
            enable_ipv6=False,
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            price_class=cloudfront.PriceClass.PRICE_CLASS_200,
        )
        Annotations.of(self.distribution).acknowledge_warning(
            "@aws-cdk/aws-cloudfront-origins:updateImportedBucketPolicyOac",
            "The storage stack's media bucket and key policies already admit this account's distributions.")
        suppress(self.distribution, "CFR1", "Agencies are Korean public bodies; access is bound to their IP ranges "
                 "by the signed custom policy, which is stricter than geo restriction.")
        suppress(self.distribution, "CFR2", "Every request needs a signed URL bound to IP and expiry; no unsigned "
                 "traffic reaches the origin, so a WAF adds no control here.")
        suppress(self.distribution, "CFR3", "Each signed link is issued and audited in the append-only audit "
                 "archive; standard logs would need an ACL-enabled bucket.")
        suppress(self.distribution, "CFR4", "Uses the default *.cloudfront.net certificate until the operator "
                 "attaches a custom domain and certificate (then set TLSv1.2_2021).")
        # Kinesis Video Streams: HLS session URLs for the cameras' live streams (gt-<stage>-* streams).
        stream_arn = f"arn:{Aws.PARTITION}:kinesisvideo:{Aws.REGION}:{Aws.ACCOUNT_ID}:stream/{infra_name(stage, '')}*/*"
        self.live_video_policy = iam.ManagedPolicy(
            self, "LiveVideoAccess", managed_policy_name=infra_name(stage, "live-video"),
            statements=[iam.PolicyStatement(
                actions=["kinesisvideo:DescribeStream", "kinesisvideo:GetDataEndpoint",
                         "kinesisvideo:GetHLSStreamingSessionURL"],
                resources=[stream_arn],
            )],
        )
        suppress(self.live_video_policy, "IAM5", "Camera streams are created per camera under the stage prefix; "
                 "the grant is limited to that prefix.", findings=[nag_finding(stream_arn)])
        CfnOutput(self, "MediaDomain", value=self.distribution.distribution_domain_name)
        CfnOutput(self, "SigningKeyPairId", value=self.public_key.public_key_id)

    @property
    def media_edge_url(self) -> str:
        return f"https://{self.distribution.distribution_domain_name}"
