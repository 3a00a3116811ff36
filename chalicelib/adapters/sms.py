"""SmsSender adapters: AWS End User Messaging SMS (the cloud) and an outbox table (no provider)."""

from __future__ import annotations

import secrets
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.clock import now_ms
from chalicelib.errors import RecipientOptedOut, StoreError
from chalicelib.models.sms import OutboxEntry
from chalicelib.ports import Table

OPTED_OUT = "DESTINATION_PHONE_NUMBER_OPTED_OUT"
OUTBOX_FEED = "feed:sms-outbox"


class EndUserMessagingSms:
    """``pinpoint-sms-voice-v2`` SendTextMessage from our origination identity (a phone number, sender id or
    pool), transactional. A number on the opt-out list is refused by the service (ConflictException, reason
    ``DESTINATION_PHONE_NUMBER_OPTED_OUT``) and never retried."""

    def __init__(self, client: Any, origination_identity: str, configuration_set: str | None = None) -> None:
        self._client = client
        self._origin = origination_identity
        self._configuration_set = configuration_set

    def send(self, phone: str, text: str, *, kind: str) -> str:
        kwargs: dict[str, Any] = {"DestinationPhoneNumber": phone, "OriginationIdentity": self._origin,
                                  "MessageBody": text, "MessageType": "TRANSACTIONAL", "Context": {"kind": kind}}
        if self._configuration_set:
            kwargs["ConfigurationSetName"] = self._configuration_set
        try:
            return str(self._client.send_text_message(**kwargs)["MessageId"])
        except ClientError as exc:
            error = exc.response.get("Error", {})
            if error.get("Code") == "ConflictException" and exc.response.get("Reason", error.get("Reason")) == OPTED_OUT:
                raise RecipientOptedOut(f"{phone[:-4]}**** opted out of text messages") from exc
            raise StoreError(f"send_text_message: {error.get('Code')}: {error.get('Message')}") from exc


class TableSmsOutbox:
    """Records each text in the records table instead of sending it (a stage without an origination
    identity, and the local platform); the admin CLI lists it (``sms outbox``)."""

    def __init__(self, table: Table, *, keep_days: int = 30) -> None:
        self._table = table
        self._keep_s = keep_days * 86_400

    def send(self, phone: str, text: str, *, kind: str) -> str:
        created_ms = now_ms()
        entry = OutboxEntry(message_id=f"sms-{secrets.token_hex(8)}", phone=phone, kind=kind, text=text,
                            created_ms=created_ms)
        self._table.put({**entry.model_dump(mode="json"), "pk": f"SMS#{entry.message_id}", "sk": "outbox",
                         "owner_id": OUTBOX_FEED, "expires_at": created_ms // 1000 + self._keep_s})
        return entry.message_id

    def recent(self, limit: int = 50) -> list[OutboxEntry]:
        items = self._table.query("owner_id", OUTBOX_FEED, index="by-owner", descending=True, limit=limit)
        return [OutboxEntry.model_validate({k: v for k, v in i.items() if k in OutboxEntry.model_fields})
                for i in items]
