"""Deployment settings read from CDK context (``-c key=value`` or cdk.json); defaults synthesise offline."""

from __future__ import annotations

from pathlib import Path

from constructs import Node
from pydantic import BaseModel, ConfigDict, Field

REPO_ROOT = Path(__file__).resolve().parents[1]


class DeploymentConfig(BaseModel):
    """What an operator may set per deployment; everything else follows from the catalog."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    stage: str = Field("dev", pattern=r"^[a-z][a-z0-9-]{1,15}$")
    account: str | None = Field(None, description="Target account; None synthesises an environment-agnostic app.")
    region: str = Field("ap-northeast-2")
    require_layers: bool = Field(False, description="Fail unless layers/<name> were built (set for deploys).")
    signing_key_secret: str | None = Field(None, description="Secrets Manager name of the URL-signing private key.")
    agency_client_certificate_secret: str | None = Field(
        None, pattern=r"^[A-Za-z0-9/_+=.@-]{1,512}$",
        description="Secrets Manager name of the PEM (client certificate chain and unencrypted key) that agency "
        "deliveries present to webhooks requiring mutual TLS, imported by the operator; unset: none presented.")
    batch_instance_types: tuple[str, ...] = ("g5.xlarge", "g4dn.xlarge")
    batch_max_vcpus: int = Field(64, ge=4, le=4096)
    api_rate_limit: float = Field(50.0, gt=0, description="API Gateway steady-state requests per second.")
    api_burst_limit: int = Field(100, ge=1)

    @property
    def secret_name(self) -> str:
        return self.signing_key_secret or f"gt/{self.stage}/media-signing-key"

    @classmethod
    def from_context(cls, node: Node) -> DeploymentConfig:
        values: dict[str, object] = {}
        for name in cls.model_fields:
            value = node.try_get_context(name)
            if value is None:
                continue
            if name == "batch_instance_types" and isinstance(value, str):
                value = tuple(v.strip() for v in value.split(",") if v.strip())
            if name == "require_layers" and isinstance(value, str):
                value = value.lower() in {"1", "true", "yes"}
            values[name] = value
        return cls.model_validate(values)
