"""Safe-return app devices and their guardians."""

from __future__ import annotations

from pydantic import Field

from chalicelib.models.common import Instant, Message, Wire


class GuardianContact(Message):
    name: str = Field(min_length=1, max_length=64)
    phone: str = Field(pattern=r"^\+[1-9]\d{7,14}$", description="E.164 phone number for SMS.")
    relation: str | None = Field(None, max_length=32)
    locale: str = Field("ko", pattern=r"^(ko|en)$", description="Language of their text messages: ko (default) or en.")


class DeviceRegistration(Message):
    """Body of POST /v1/devices."""

    platform: str = Field(pattern=r"^(ios|android|wearable)$")
    label: str | None = Field(None, max_length=64)
    guardians: list[GuardianContact] = Field(default_factory=list, max_length=5)
    locale: str = Field("ko", pattern=r"^(ko|en)$", description="Language of texts about this device: ko or en.")


class Device(Message):
    device_id: str
    owner_id: str
    platform: str
    label: str | None = None
    guardians: list[GuardianContact]
    locale: str = "ko"
    created_ms: int


class DeviceView(Wire):
    """A device as its owner sees it."""

    device_id: str
    platform: str
    label: str | None = None
    guardians: list[GuardianContact]
    locale: str
    created_at: Instant
