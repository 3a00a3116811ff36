"""Console: the built control-center console (console/dist) in a private bucket behind its own CloudFront
distribution (origin access control, HTTPS only, Korea only), and the Cognito user pool people sign in with.

Sign-in: one user pool, one group per principal kind (operators, health centers, agencies); a user's
``custom:principal_id`` names the platform principal whose grants apply (its kind and registered ranges).
The API accepts the pool's ID tokens as bearer tokens (``api_environment``: the issuer and the client its
tokens must name) and maps each to that principal when the user is in the group of its kind.

The page calls the API cross-origin (through this distribution API Gateway would see CloudFront's address, not
the browser's, and IP-bound principals would stop matching): ``origin`` is what the API lets read its answers,
and ``sign_in_config`` what the page's config.json tells it (written by the console-config stack, once the API
exists). People sign in on the pool's hosted sign-in pages (managed login, Korean with ``lang=ko``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import Aws, CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct

from chalicelib.catalog import ResourceCatalog
from infra.nag import suppress, suppress_bucket_deployment
from infra.names import infra_name

CONSOLE_DIST = Path(__file__).resolve().parents[2] / "console" / "dist"
CONSOLE_PREFIX = "console"  # the console is built for /console/ (vite base), as the local platform serves it
CONSOLE_CONFIG = "config.json"  # beside index.html: where the API is and how to sign in (console-config stack)
SIGN_IN_SCOPES = (cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL, cognito.OAuthScope.PROFILE)
PRINCIPAL_GROUPS = {"operators": "control-center operators (통합관제센터)",
                    "health-centers": "public health centers (보건소)", "agencies": "police 112, fire 119, disaster rooms"}


class ConsoleStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, catalog: ResourceCatalog, access_logs: s3.IBucket,
                 dist: Path = CONSOLE_DIST, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        stage = catalog.stage
        self.site = s3.Bucket(
            self, "Site", encryption=s3.BucketEncryption.S3_MANAGED, block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True, versioned=True, object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=access_logs, server_access_logs_prefix="console-site/",
            removal_policy=RemovalPolicy.DESTROY, auto_delete_objects=False,
            lifecycle_rules=[s3.LifecycleRule(noncurrent_version_expiration=Duration.days(30))])
        # The site's ARN for later stacks under a fixed export name, which their cdk-nag acknowledgements can name
        self.site_arn_export_name = f"{self.stack_name}-SiteArn"
        self.site_arn_import = self.export_value(self.site.bucket_arn, name=self.site_arn_export_name)
        edge_logs = s3.Bucket.from_bucket_attributes(
            self, "EdgeLogs", bucket_name=catalog.bucket("edge-logs"),
            bucket_domain_name=f"{catalog.bucket('edge-logs')}.s3.{Aws.URL_SUFFIX}")
        self.distribution = cloudfront.Distribution(
            self, "ConsoleDistribution", comment=infra_name(stage, "console"),
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(self.site),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
                response_headers_policy=cloudfront.ResponseHeadersPolicy.SECURITY_HEADERS),
            default_root_object=f"{CONSOLE_PREFIX}/index.html",
            # the page's own logs, apart from the media edge's (cloudfront/ feeds the edge-access audit)
            enable_logging=True, log_bucket=edge_logs, log_file_prefix="console-cloudfront/", log_includes_cookies=False,
            geo_restriction=cloudfront.GeoRestriction.allowlist("KR"),
            minimum_protocol_version=cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
            http_version=cloudfront.HttpVersion.HTTP2_AND_3, price_class=cloudfront.PriceClass.PRICE_CLASS_200)
        suppress(self.distribution, "CFR2", "A static, public-by-design page of JavaScript and CSS: every call it makes "
                 "goes to the API, which authenticates it; a WAF adds no control over these files.")
        suppress(self.distribution, "CFR4", "Uses the default *.cloudfront.net certificate until the operator "
                 "attaches a custom domain and certificate (TLSv1.2_2021 is set for that day).")
        if (dist / "index.html").is_file():  # `make console` builds it; a synth without it deploys no files
            s3deploy.BucketDeployment(self, "ConsoleFiles", sources=[s3deploy.Source.asset(str(dist))],
                                      destination_bucket=self.site, destination_key_prefix=CONSOLE_PREFIX,
                                      distribution=self.distribution, distribution_paths=[f"/{CONSOLE_PREFIX}/*"],
                                      # the sync leaves the deployed config.json alone (neither pruned nor replaced)
                                      exclude=[CONSOLE_CONFIG], memory_limit=256)
            suppress_bucket_deployment(self, destination=f"<{self.get_logical_id(_cfn(self.site))}.Arn>",
                                       what="the built files under the site's console/ prefix")

        self.users = cognito.UserPool(
            self, "Users", user_pool_name=infra_name(stage, "console-users"), self_sign_up_enabled=False,
            sign_in_aliases=cognito.SignInAliases(username=True, email=True), sign_in_case_sensitive=False,
            mfa=cognito.Mfa.REQUIRED, mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            password_policy=cognito.PasswordPolicy(min_length=12, require_digits=True, require_lowercase=True,
                                                   require_uppercase=True, require_symbols=True),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            feature_plan=cognito.FeaturePlan.PLUS,
            standard_threat_protection_mode=cognito.StandardThreatProtectionMode.FULL_FUNCTION,
            custom_attributes={"principal_id": cognito.StringAttribute(min_len=3, max_len=128, mutable=False)},
            removal_policy=RemovalPolicy.RETAIN)
        for name, description in PRINCIPAL_GROUPS.items():
            cognito.CfnUserPoolGroup(self, f"Group{name.title().replace('-', '')}", user_pool_id=self.users.user_pool_id,
                                     group_name=name, description=description)
        self.origin = f"https://{self.distribution.distribution_domain_name}"
        console_url = f"{self.origin}/{CONSOLE_PREFIX}/"
        self.client = self.users.add_client(
            "ConsoleClient", user_pool_client_name=infra_name(stage, "console"), generate_secret=False,
            auth_flows=cognito.AuthFlow(user_srp=True),
            o_auth=cognito.OAuthSettings(flows=cognito.OAuthFlows(authorization_code_grant=True),
                                         scopes=list(SIGN_IN_SCOPES),
                                         callback_urls=[console_url], logout_urls=[console_url]),
            read_attributes=cognito.ClientAttributes().with_custom_attributes("principal_id"),
            id_token_validity=Duration.hours(1), access_token_validity=Duration.hours(1),
            refresh_token_validity=Duration.hours(12), prevent_user_existence_errors=True)
        # The hosted sign-in pages (managed login, with Cognito's own look) at a prefix unique per account and stage
        self.domain = self.users.add_domain(
            "SignInDomain", cognito_domain=cognito.CognitoDomainOptions(
                domain_prefix=f"golden-time-{stage}-{Aws.ACCOUNT_ID}"),
            managed_login_version=cognito.ManagedLoginVersion.NEWER_MANAGED_LOGIN)
        cognito.CfnManagedLoginBranding(self, "SignInBranding", user_pool_id=self.users.user_pool_id,
                                        client_id=self.client.user_pool_client_id, use_cognito_provided_values=True)
        issuer = f"https://cognito-idp.{Aws.REGION}.{Aws.URL_SUFFIX}/{self.users.user_pool_id}"
        self.api_environment = {"SIGN_IN_ISSUER": issuer, "SIGN_IN_CLIENT_IDS": self.client.user_pool_client_id,
                                "CONSOLE_ORIGIN": self.origin}
        """The API's settings for accepting this pool's ID tokens (chalicelib/wiring/sign_in.py) from this page."""
        self.sign_in_config = {"authority": issuer, "clientId": self.client.user_pool_client_id,
                               "logoutUrl": f"{self.domain.base_url()}/logout",
                               "scope": " ".join(scope.scope_name for scope in SIGN_IN_SCOPES)}
        """The page's OIDC settings (authorization code + PKCE against the pool, redirect back to the page)."""
        CfnOutput(self, "ConsoleUrl", value=console_url)
        CfnOutput(self, "ConsoleUserPoolId", value=self.users.user_pool_id)
        CfnOutput(self, "ConsoleUserPoolClientId", value=self.client.user_pool_client_id)
        CfnOutput(self, "ConsoleSignInDomain", value=self.domain.base_url())


def _cfn(bucket: s3.Bucket) -> s3.CfnBucket:
    child = bucket.node.default_child
    assert isinstance(child, s3.CfnBucket)
    return child
