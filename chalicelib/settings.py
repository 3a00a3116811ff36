"""The one typed settings object. Nothing else in the code base reads the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field


class Settings(BaseModel):
    """Runtime settings; CDK function environments use the same (upper-cased) field names."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    stage: str = Field("local", pattern=r"^[a-z][a-z0-9-]{1,15}$", description="Deployment stage; prefixes every resource name.")
    aws_region: str = Field("ap-northeast-2", description="Region (Seoul by default).")
    aws_endpoint_url: str | None = Field(None, description="Emulator endpoint; None in the cloud.")
    aws_max_attempts: int = Field(3, ge=1, le=10, description="botocore standard-mode retry attempts.")
    aws_connect_timeout_s: float = Field(2.0, gt=0, le=30)
    aws_read_timeout_s: float = Field(10.0, gt=0, le=120)
    api_max_body_bytes: int = Field(1_000_000, ge=1024, le=10_000_000, description="Largest JSON body the API accepts.")
    footage_retention_days: int = Field(30, ge=1, le=365, description="Privacy-policy retention of recorded CCTV footage.")
    webhook_private_targets: bool = Field(False, description="Let webhooks reach loopback and private addresses "
                                          "(the local platform's receivers); never in the cloud, where they would "
                                          "reach the Lambda runtime API or the VPC.")
    segment_seconds: float = Field(10.0, gt=1, le=60, description="Length of one recorded HLS segment.")
    live_window_segments: int = Field(6, ge=3, le=30, description="Segments in a live sliding-window playlist.")
    media_edge_url: str = Field("http://127.0.0.1:8001", description="Base URL of the CDN / local media edge.")
    public_api_url: str = Field("http://127.0.0.1:8000", description="Base URL of the public API, for links people "
                                "open (a guardian's live-follow link).")
    cloudfront_key_pair_id: str = Field("LOCALKEYPAIR", description="Public key id that signed URLs name.")
    signing_key_secret: str | None = Field(None, description="Secrets Manager id or local PEM path of the URL-signing key.")
    agency_client_certificate_secret: str | None = Field(
        None, description="Secrets Manager id or local path of the PEM (client certificate chain and unencrypted "
        "private key) agency deliveries present to webhooks that require mutual TLS; unset: none presented.")
    evidence_hold_days: int = Field(90, ge=1, le=3650, description="Days exported incident footage stays under "
                                    "legal hold after the incident is closed.")
    revocation_kvs_arn: str | None = Field(None, description="CloudFront KeyValueStore of revoked link ids (cloud); "
                                           "unset: the records table (local).")
    report_font_path: str | None = Field(None, description="TrueType font with Hangul the PDF reports embed; unset: "
                                         "Debian's fonts-nanum (NanumGothic) or Noto CJK where installed.")
    token_cache_seconds: float = Field(30.0, ge=0, le=600, description="How long a verified API token stays cached.")
    sign_in_issuer: str | None = Field(None, description="Issuer of people's sign-in tokens: the console's Cognito "
                                       "user pool (https://cognito-idp.<region>.amazonaws.com/<pool id>); unset: "
                                       "API tokens only.")
    sign_in_client_ids: str | None = Field(None, description="Comma-separated app client ids the pool's ID tokens "
                                           "must be issued to (aud).")
    sign_in_jwks_url: str | None = Field(None, description="Where the pool's signing keys are read; unset: "
                                         "<issuer>/.well-known/jwks.json, as Cognito publishes them.")
    console_origin: str | None = Field(None, pattern=r"^https?://[^/\s]+$",
                                       description="Origin of the deployed console (https://<distribution domain>), "
                                       "which calls the API cross-origin: its answers carry CORS headers for it; "
                                       "unset: the console is served beside the API (local), no CORS.")
    camera_index_key: str = Field("indexes/cameras.npz", description="Object key of the camera nearest-neighbour snapshot.")
    sos_cancel_window_s: int = Field(10, ge=0, le=900, description="Seconds an SOS can be cancelled before it escalates to 112.")
    dispatch_ack_timeout_s: int = Field(120, ge=10, le=3600, description="Seconds an agency has to acknowledge a "
                                        "dispatch before the control center gets an urgent alert and it is resent.")
    sms_origination_identity: str | None = Field(None, description="End User Messaging SMS phone number, sender "
                                                 "id or pool guardian texts come from; unset: the outbox table.")
    sms_configuration_set: str | None = Field(None, description="End User Messaging SMS configuration set "
                                              "(delivery events), optional.")
    device_requests_per_minute: int = Field(600, ge=1, le=100_000,
                                            description="Safe-return API calls one device may make per minute.")
    search_deadline_min_s: int = Field(1800, ge=60, le=86_400,
                                       description="A missing-person search still running this long after it "
                                                   "started is finalised by the sweeper with the shards that finished.")
    search_deadline_per_footage_s: float = Field(1.0, ge=0, le=10,
                                                 description="Seconds allowed per second of footage in a search's "
                                                             "largest shard (shards run in parallel), when that is "
                                                             "longer than the minimum.")
    search_index_on_ingest: bool = Field(False, description="Index stored footage segments for search as they "
                                         "arrive (one detector pass, shared with selective monitoring); off: the "
                                         "indexing function acknowledges segments without analysing them.")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        values = {name: env[name.upper()] for name in cls.model_fields if name.upper() in env}
        return cls.model_validate(values)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings built once per process (per Lambda container)."""
    return Settings.from_env()
