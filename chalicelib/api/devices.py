"""Safe-return app devices: POST /v1/devices, GET /v1/devices/{device_id}."""

from __future__ import annotations

import secrets

from chalice.app import Blueprint, Request

from chalicelib.api.context import platform
from chalicelib.api.http import Caller, endpoint
from chalicelib.clock import now_ms
from chalicelib.models.device import Device, DeviceRegistration, DeviceView
from chalicelib.models.principal import PrincipalKind
from chalicelib.services.owned import OwnedRecords

devices = Blueprint(__name__)


def _records() -> OwnedRecords:
    return OwnedRecords(platform().resources.table("records"), "DEVICE")


@endpoint(devices, "/v1/devices", methods=["POST"], allow={PrincipalKind.APP}, status=201)
def register_device(caller: Caller, request: Request, *, body: DeviceRegistration) -> DeviceView:
    """Register a safe-return device with its guardian contacts."""
    device = Device(device_id=f"dev-{secrets.token_hex(8)}", owner_id=caller.id, platform=body.platform,
                    label=body.label, guardians=body.guardians, created_ms=now_ms())
    _records().create(device.device_id, caller.id, device.model_dump(mode="json"), created_ms=device.created_ms)
    return DeviceView.model_validate(device)


@endpoint(devices, "/v1/devices/{device_id}", allow={PrincipalKind.APP})
def get_device(caller: Caller, request: Request, device_id: str) -> DeviceView:
    """One of the caller's own devices."""
    return DeviceView.model_validate(Device.model_validate(_records().get(device_id, caller.id)))
