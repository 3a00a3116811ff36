"""Text messages to a device's guardians through the guardian SMS topic.

One message per guardian; the topic's SMS subscriber (or, locally, a capture queue) delivers it.
The message is JSON with the phone number, so a single topic serves every guardian.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from chalicelib.errors import NotFound, RecipientOptedOut
from chalicelib.models.device import Device
from chalicelib.models.sms import GuardianText
from chalicelib.ports import Notifier, SmsSender
from chalicelib.services.owned import OwnedRecords

logger = logging.getLogger(__name__)


class GuardianSms:
    def __init__(self, topic: Notifier, devices: OwnedRecords) -> None:
        self._topic = topic
        self._devices = devices

    def device(self, device_id: str, owner_id: str | None) -> Device:
        """The caller's device (404 for someone else's)."""
        return Device.model_validate(self._devices.get(device_id, owner_id))

    def notify(self, device_id: str | None, kind: str, text: Callable[[str], str], *, context: dict[str, Any],
               device: Device | None = None) -> int:
        """Tell every guardian of the device, each in their language (``text(locale)``); returns how many
        messages were published. ``device``: the device as the caller has just read it (not read again)."""
        if device_id is None:
            return 0
        if device is None or device.device_id != device_id:
            try:
                device = self.device(device_id, None)
            except NotFound:
                logger.warning("no device %s to notify guardians of", device_id)
                return 0
        for guardian in device.guardians:
            body = {"kind": kind, "phone": guardian.phone, "guardian": guardian.name, "text": text(guardian.locale),
                    "device_id": device_id, **context}
            self._topic.publish(json.dumps(body, ensure_ascii=False), subject=kind,
                                attributes={"kind": kind})
        return len(device.guardians)


def send_text(sender: SmsSender, message: GuardianText) -> str | None:
    """Send one guardian text; ``None`` when the number opted out (recorded, never retried: sending to an
    opted-out number is what the opt-out forbids)."""
    try:
        return sender.send(message.phone, message.text, kind=message.kind)
    except RecipientOptedOut:
        logger.warning("guardian opted out of texts; %s not sent", message.kind)
        return None
