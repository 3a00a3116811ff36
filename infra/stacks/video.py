"""Video: CloudFront over the media bucket with a trusted key group (signed URLs), IPv6 off; the viewer-request
function with its KeyValueStore of revoked links on every behaviour; live HLS through the same distribution
(playlists from the live-playlist function, segments from the bucket); standard logs to the edge-logs bucket.

Players in web pages (the console's hls.js) fetch playlists and segments by XHR from another origin: every
behaviour's answers carry CORS headers for any origin, as the local media edge's do (the signed, IP-bound URL is
the credential, not the page's origin). Those requests are simple (GET, no custom headers), so no preflight is
sent and OPTIONS stays outside the allowed methods. The viewer-request function's refusals (a revoked link) carry
the same CORS headers themselves, so a player reads a 403 and its reason, not a network error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import Annotations, Aws, CfnOutput, CfnParameter, Duration, Stack
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from constructs import Construct

from chalicelib.catalog import ResourceCatalog
from infra.constructs.function import DataPlane, GtFunction
from infra.constructs.packaging import Packaging
from infra.environment import settings_environment
from infra.nag import suppress
from infra.names import infra_name
from infra.profiles import LIVE_PLAYLIST_PROFILE
from infra.stacks.storage import StorageStack

VIEWER_REQUEST_JS = Path(__file__).resolve().parents[2] / "edge" / "viewer-request.js"
# What a player reads beside the safelisted headers (hls.js: sizes and byte ranges), as local/media_edge.py exposes.
PLAYER_EXPOSED_HEADERS = ("Content-Length", "Content-Range", "Accept-Ranges")


class VideoStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, catalog: ResourceCatalog, storage: StorageStack,
                 plane: DataPlane, bundle: Path, image_context: Path, out: Path, require_layers: bool,
                 signing_key_secret: str, **kwargs: Any) -> None:
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
        # Revocation at the edge: the viewer-request function (the same file the local edge runs under
        # Node) refuses links whose id the API wrote to this KeyValueStore (visible within seconds).
        self.revoked_links = cloudfront.KeyValueStore(
            self, "RevokedLinks", key_value_store_name=infra_name(stage, "revoked-links"),
            comment="Revoked agency video-link ids (written by the API, read by the viewer-request function)")
        self.viewer_request = cloudfront.Function(
            self, "ViewerRequest", function_name=infra_name(stage, "viewer-request"),
            code=cloudfront.FunctionCode.from_file(file_path=str(VIEWER_REQUEST_JS)),
            runtime=cloudfront.FunctionRuntime.JS_2_0, key_value_store=self.revoked_links,
            comment="Refuses revoked agency links (KeyValueStore); adds x-edge-host for the live-playlist origin")
        on_viewer_request = [cloudfront.FunctionAssociation(function=self.viewer_request,
                                                            event_type=cloudfront.FunctionEventType.VIEWER_REQUEST)]
        media_origin = origins.S3BucketOrigin.with_origin_access_control(media)
        # Live: camera gateways write HLS under live/<camera>/; a link's playlist comes from the live-playlist
        # function (it signs each segment for the link), the segments from the bucket.
        packaging = Packaging(self, stage=stage, out=out, bundle=bundle, image_context=image_context,
                              require_layers=require_layers)
        self.live_playlist = GtFunction(
            self, "LivePlaylist", function_name=infra_name(stage, "fn-live-playlist"),
            code=packaging.code_for(LIVE_PLAYLIST_PROFILE, "functions.live_playlist.handler.lambda_handler"),
            profile=LIVE_PLAYLIST_PROFILE, timeout_s=LIVE_PLAYLIST_PROFILE.timeout_s or 5, plane=plane,
            # no MEDIA_EDGE_URL (the distribution depends on this function): the edge's host arrives per request
            environment=settings_environment(catalog, cloudfront_key_pair_id=self.public_key.public_key_id,
                                             signing_key_secret=signing_key_secret)).function
        playlist_url = self.live_playlist.add_function_url(auth_type=lambda_.FunctionUrlAuthType.AWS_IAM)

        self.cors = cloudfront.ResponseHeadersPolicy(
            self, "PlayerCors", response_headers_policy_name=infra_name(stage, "media-cors"),
            comment="Players on other origins may read playlists and segments (as the local media edge answers)",
            cors_behavior=cloudfront.ResponseHeadersCorsBehavior(
                access_control_allow_origins=["*"], access_control_allow_methods=["GET", "HEAD"],
                access_control_allow_headers=["Range"], access_control_allow_credentials=False,
                access_control_expose_headers=list(PLAYER_EXPOSED_HEADERS),
                access_control_max_age=Duration.minutes(10), origin_override=True))

        def signed(origin: cloudfront.IOrigin, cache_policy: cloudfront.ICachePolicy,
                   origin_request_policy: cloudfront.IOriginRequestPolicy | None = None) -> cloudfront.BehaviorOptions:
            """Every behaviour: HTTPS, GET/HEAD, signed URLs of our key group, the viewer-request function, CORS."""
            return cloudfront.BehaviorOptions(
                origin=origin, cache_policy=cache_policy, origin_request_policy=origin_request_policy,
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD, trusted_key_groups=[self.key_group],
                function_associations=on_viewer_request, response_headers_policy=self.cors)

        # Standard logs go to the edge-logs bucket; S3 → SQS → functions/edge_access_log turns each line into
        # the audit record the local edge writes.
        edge_logs = s3.Bucket.from_bucket_attributes(
            self, "EdgeLogs", bucket_name=catalog.bucket("edge-logs"),
            bucket_domain_name=f"{catalog.bucket('edge-logs')}.s3.{Aws.URL_SUFFIX}")
        self.distribution = cloudfront.Distribution(
            self, "MediaDistribution", comment=infra_name(stage, "media"),
            default_behavior=signed(media_origin, cloudfront.CachePolicy.CACHING_OPTIMIZED),
            additional_behaviors={
                "live/*/index.m3u8": signed(origins.FunctionUrlOrigin.with_origin_access_control(playlist_url),
                                            cloudfront.CachePolicy.CACHING_DISABLED,
                                            cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER),
                "live/*": signed(media_origin, cloudfront.CachePolicy.CACHING_OPTIMIZED),
            },
            enable_logging=True, log_bucket=edge_logs, log_file_prefix="cloudfront/", log_includes_cookies=False,
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
        suppress(self.distribution, "CFR4", "Uses the default *.cloudfront.net certificate until the operator "
                 "attaches a custom domain and certificate (then set TLSv1.2_2021).")
        CfnOutput(self, "MediaDomain", value=self.distribution.distribution_domain_name)
        CfnOutput(self, "SigningKeyPairId", value=self.public_key.public_key_id)
        CfnOutput(self, "RevokedLinksStoreArn", value=self.revoked_links.key_value_store_arn)

    @property
    def media_edge_url(self) -> str:
        return f"https://{self.distribution.distribution_domain_name}"
