"""Who may call the platform."""

from __future__ import annotations

import ipaddress
from enum import StrEnum

from pydantic import Field, field_validator

from chalicelib.models.common import EpochMs, Message


class PrincipalKind(StrEnum):
    APP = "app"  # a safe-return app device
    HEALTH_CENTER = "health-center"
    AGENCY = "agency"  # police 112 / fire 119 / disaster room
    OPERATOR = "operator"  # control-center operator
    ADMIN = "admin"


class Principal(Message):
    principal_id: str = Field(pattern=r"^[a-z0-9-]{3,64}$")
    kind: PrincipalKind
    name: str = Field(min_length=1, max_length=128)
    cidrs: tuple[str, ...] = Field((), description="Registered source ranges; empty = any address.")
    attributes: dict[str, str] = Field(default_factory=dict, description="Kind-specific facts, e.g. agency kind.")
    token_hash: str = Field(pattern=r"^[0-9a-f]{64}$", repr=False)
    created_ms: EpochMs
    disabled: bool = False
    expires_ms: EpochMs | None = Field(None, description="When the token stops working; None = until rotated.")

    @field_validator("cidrs")
    @classmethod
    def _valid_cidrs(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(str(ipaddress.ip_network(c, strict=False)) for c in value)

    def expired(self, now_ms: int) -> bool:
        return self.expires_ms is not None and now_ms >= self.expires_ms

    def allows_address(self, address: str) -> bool:
        if not self.cidrs:
            return True
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in ipaddress.ip_network(c) for c in self.cidrs)


class SignedInUser(Message):
    """A person signed in through the console's user pool, as their verified ID token says."""

    principal_id: str = Field(description="The platform principal whose grants apply (custom:principal_id).")
    username: str
    groups: tuple[str, ...] = Field((), description="The pool groups the user is in (cognito:groups).")
    expires_ms: EpochMs
