"""Dispatches to agencies: submitted on the dispatch queue, delivered to the agency's signed webhook, and
kept open until the agency's receipt (the ack) arrives.

Delivered means the agency's system answered 2xx; acknowledged means a person in the situation room took
the case (``POST /v1/dispatches/{id}/ack``, with their case number). Every open dispatch has a deadline
marker; the scheduled check raises an urgent control-center alert for each one past it and sends it again
(a new round), until someone acknowledges.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from chalicelib.errors import ConditionFailed, Conflict, NotFound, PermanentError, TransientError
from chalicelib.models.agency_payload import AgencyPayload
from chalicelib.models.alert import AlertKind
from chalicelib.models.dispatch import (
    AgencyEndpoint,
    AgencySecretIssued,
    AgencyTarget,
    DeliveryStatus,
    DispatchAck,
    DispatchEnvelope,
    DispatchRecord,
    EvidenceFollowUp,
)
from chalicelib.ports import MessageQueue, Table, WebhookClient
from chalicelib.services.dispatch.evidence import EvidenceLinks
from chalicelib.services.dispatch.secrets import AgencyKeys
from chalicelib.services.dispatch.signing import SCHEME, signed_headers
from chalicelib.services.saferet.alerts import AlertService
from chalicelib.services.texts import agency_text, render

logger = logging.getLogger(__name__)
UNACKED_FEED = "feed:unacked-dispatch"
WEBHOOK_TIMEOUT_S = 5.0
_SK = "record"


def _pk(dispatch_id: str) -> str:
    return f"DISPATCH#{dispatch_id}"


_ACK_ATTEMPTS = 3  # an ack races at most the delivery write and a resend


class DispatchService:
    def __init__(self, table: Table, queue: MessageQueue, webhook: WebhookClient, alerts: AlertService, *,
                 ack_timeout_s: int, evidence: EvidenceLinks | None = None, keys: AgencyKeys | None = None) -> None:
        self._table = table
        self._queue = queue
        self._webhook = webhook
        self._alerts = alerts
        self._ack_ms = ack_timeout_s * 1000
        self._evidence = evidence
        self._keys = keys

    # -- agencies
    def register(self, target: AgencyTarget, url: str, *, principal_id: str, locale: str = "ko",
                 cidr: str | None = None, server_ca: str | None = None) -> AgencySecretIssued:
        """Set (or move) an agency's webhook under a new key version: its new secret is answered this once."""
        current = self._table.get(_endpoint_key(target))
        version = int(current.get("key_version", 0)) + 1 if current else 1
        endpoint = AgencyEndpoint(target=target, url=url, key_version=version, principal_id=principal_id,
                                  locale=locale, cidr=cidr, server_ca=server_ca)
        # a whole-item put: a plaintext secret left by an older registry is gone with it
        self._table.put({**_endpoint_key(target), **endpoint.model_dump(mode="json")})
        return AgencySecretIssued(target=target, url=url, key_version=version, signature=SCHEME,
                                  secret=self._secret(endpoint))

    def rotate(self, target: AgencyTarget) -> AgencySecretIssued:
        """A new secret for the same webhook; the old one stops verifying at once."""
        endpoint = self.endpoint(target)
        if endpoint is None:
            raise NotFound(f"no webhook registered for {target.value}")
        return self.register(target, endpoint.url, principal_id=endpoint.principal_id, locale=endpoint.locale,
                             cidr=endpoint.cidr, server_ca=endpoint.server_ca)

    def endpoint(self, target: AgencyTarget) -> AgencyEndpoint | None:
        return _endpoint(self._table.get(_endpoint_key(target)))

    def _secret(self, endpoint: AgencyEndpoint) -> str:
        if self._keys is None:
            raise PermanentError("no agency webhook key configured")
        return self._keys.secret(endpoint.target.value, endpoint.key_version)

    # -- the life of a dispatch
    def submit(self, dispatch_id: str, target: AgencyTarget, payload: AgencyPayload, *, subject_owner_id: str,
               district: str | None, now_ms: int) -> str:
        """Record the dispatch with its acknowledgement deadline and queue its delivery; a second submit of
        the same id (a re-claimed escalation) queues it again under the same record. The body the agency
        receives is ``payload`` as JSON, byte for byte (plus evidence links at delivery)."""
        body = payload.model_dump_json()
        record = DispatchRecord(dispatch_id=dispatch_id, target=target, district=district,
                                status=DeliveryStatus.QUEUED, queued_ms=now_ms, ack_deadline_ms=now_ms + self._ack_ms)
        try:
            self._put(record, payload=body, owner=subject_owner_id, if_absent=True)
            self._put_marker(record)
        except ConditionFailed:
            record = self.get(dispatch_id)
        return self._enqueue(record, body)

    def submit_follow_up(self, dispatch_id: str, parent_id: str, payload: EvidenceFollowUp, *, now_ms: int) -> str:
        """A dispatch that follows ``parent_id``: the same agency, district and subject, its own receipt."""
        parent = self._item(parent_id)
        record = _record(parent)
        return self.submit(dispatch_id, record.target, payload, subject_owner_id=str(parent.get("subject_owner_id", "")),
                           district=record.district, now_ms=now_ms)

    def deliver(self, envelope: DispatchEnvelope, now_ms: int) -> DispatchRecord:
        """POST the payload to the agency's webhook, signed; ``TransientError`` (retry with backoff) when
        the agency has no webhook yet, cannot be reached or does not answer 2xx."""
        # the dispatch and its agency's webhook in one read
        item, webhook = self._table.get_many([{"pk": _pk(envelope.dispatch_id), "sk": _SK},
                                              _endpoint_key(envelope.target)])
        if item is None:
            raise NotFound(f"no dispatch {envelope.dispatch_id}")
        record = _record(item)
        if record.status is DeliveryStatus.ACKNOWLEDGED or envelope.round < record.round:
            return record  # they have it already, or a newer round is on its way
        endpoint = _endpoint(webhook)
        if endpoint is None:
            raise TransientError(f"no webhook registered for {envelope.target.value}")
        body = self._with_evidence(envelope, endpoint, now_ms).encode()
        headers = signed_headers(self._secret(endpoint), body, now_s=now_ms // 1000, dispatch_id=envelope.dispatch_id,
                                 round_=envelope.round)
        error: str | None = None
        try:
            status = self._webhook.post(endpoint.url, body, headers, timeout_s=WEBHOOK_TIMEOUT_S,
                                        server_ca=endpoint.server_ca)
            if not 200 <= status < 300:
                error = f"webhook answered {status}"
        except TransientError as exc:
            error = str(exc)[:300]
        update: dict[str, Any] = {"attempts": record.attempts + 1, "last_error": error}
        if error is None and record.status is DeliveryStatus.QUEUED:
            update |= {"status": DeliveryStatus.DELIVERED, "delivered_ms": now_ms}
        try:
            delivered = self._update(record, update, item=item)
        except Conflict:
            if error is None:  # acknowledged (or resent) while we posted: the agency has it, nothing to undo
                return self.get(envelope.dispatch_id)
            raise
        if error is not None:
            raise TransientError(f"dispatch {envelope.dispatch_id} to {envelope.target.value}: {error}")
        logger.info("dispatch delivered", extra={"dispatch_id": envelope.dispatch_id, "round": envelope.round})
        return delivered

    def ack(self, dispatch_id: str, principal_id: str, receipt: DispatchAck, now_ms: int) -> DispatchRecord:
        """The agency's receipt; only the principal registered for the target may give it (404 otherwise).
        The same receipt again answers the same record; a different one is a conflict."""
        for attempt in range(_ACK_ATTEMPTS):
            record = self.get(dispatch_id)
            endpoint = self.endpoint(record.target)
            if endpoint is None or endpoint.principal_id != principal_id:
                raise NotFound(f"no dispatch {dispatch_id}")
            if record.status is DeliveryStatus.ACKNOWLEDGED:
                if record.receipt_id == receipt.receipt_id:
                    return record
                raise Conflict(f"dispatch {dispatch_id} was acknowledged with receipt {record.receipt_id}")
            try:
                self._update(record, {"status": DeliveryStatus.ACKNOWLEDGED, "acked_ms": now_ms,
                                      "acked_by": principal_id, "receipt_id": receipt.receipt_id,
                                      "delivered_ms": record.delivered_ms or now_ms})
                break
            except Conflict:  # an agency may answer before the sender has recorded the delivery: read again
                if attempt == _ACK_ATTEMPTS - 1:
                    raise
        self._table.delete({"pk": f"UNACKED#{dispatch_id}", "sk": "marker"})
        return self.get(dispatch_id)

    def check_overdue(self, now_ms: int) -> list[DispatchRecord]:
        """Every open dispatch past its deadline: an urgent alert to the control center (once per round) and
        the dispatch sent again with a fresh deadline. Returns the dispatches resent."""
        resent = []
        for marker in self._table.query("owner_id", UNACKED_FEED, index="by-owner", sort_between=(0, now_ms)):
            item = self._table.get({"pk": _pk(str(marker["dispatch_id"])), "sk": _SK})
            if item is None:
                continue
            record = _record(item)
            if record.status is DeliveryStatus.ACKNOWLEDGED:
                self._table.delete({"pk": f"UNACKED#{record.dispatch_id}", "sk": "marker"})
                continue
            minutes = max(1, (now_ms - record.queued_ms) // 60_000)
            reason = render("dispatch-unacknowledged", "ko", agency=agency_text(record.target.value, "ko"),
                            dispatch_id=record.dispatch_id, minutes=minutes, round=record.round + 1)
            self._alerts.raise_alert(f"{record.dispatch_id}.unacked.{record.round}", AlertKind.DISPATCH_UNACKNOWLEDGED,
                                     subject_owner_id=str(item.get("subject_owner_id", "")), reason=reason,
                                     now_ms=now_ms, incident_id=record.dispatch_id, district=record.district)
            again = record.model_copy(update={"round": record.round + 1, "ack_deadline_ms": now_ms + self._ack_ms})
            try:
                self._update(record, {"round": again.round, "ack_deadline_ms": again.ack_deadline_ms})
            except Conflict:
                continue  # acknowledged or resent concurrently
            self._put_marker(again)
            self._enqueue(again, str(item["payload"]))
            resent.append(again)
        return resent

    def get(self, dispatch_id: str) -> DispatchRecord:
        return _record(self._item(dispatch_id))

    def _item(self, dispatch_id: str) -> dict[str, Any]:
        item = self._table.get({"pk": _pk(dispatch_id), "sk": _SK})
        if item is None:
            raise NotFound(f"no dispatch {dispatch_id}")
        return item

    # -- internals
    def _with_evidence(self, envelope: DispatchEnvelope, endpoint: AgencyEndpoint, now_ms: int) -> str:
        """The payload, plus signed links to the evidence it names (a follow-up's keys) or, for a first dispatch,
        everything uploaded so far under its evidence prefix."""
        if self._evidence is None or endpoint.cidr is None:
            return envelope.payload
        document = json.loads(envelope.payload)
        if not isinstance(document, dict):
            return envelope.payload
        keys, prefix = document.get("evidence_keys"), document.get("evidence_prefix")
        if isinstance(keys, list):  # a follow-up: exactly the objects it names
            links = self._evidence.for_keys(envelope.dispatch_id, [str(k) for k in keys], endpoint.cidr, now_ms)
        elif isinstance(prefix, str):
            links = self._evidence.for_agency(envelope.dispatch_id, prefix, endpoint.cidr, now_ms)
        else:
            return envelope.payload
        return json.dumps({**document, "evidence": [link.model_dump(mode="json") for link in links]},
                          ensure_ascii=False)

    def _enqueue(self, record: DispatchRecord, payload: str) -> str:
        envelope = DispatchEnvelope(dispatch_id=record.dispatch_id, target=record.target, round=record.round,
                                    payload=payload)
        return self._queue.send(envelope.model_dump_json(),
                                attributes={"dispatch_id": record.dispatch_id, "target": record.target.value})

    def _put_marker(self, record: DispatchRecord) -> None:
        self._table.put({"pk": f"UNACKED#{record.dispatch_id}", "sk": "marker", "owner_id": UNACKED_FEED,
                         "created_ms": record.ack_deadline_ms, "dispatch_id": record.dispatch_id})

    def _put(self, record: DispatchRecord, *, payload: str, owner: str, if_absent: bool = False,
             expect: dict[str, Any] | None = None) -> None:
        item = {**json.loads(record.model_dump_json()), "pk": _pk(record.dispatch_id), "sk": _SK,
                "payload": payload, "subject_owner_id": owner}
        self._table.put(item, if_absent=if_absent, expect=expect)

    def _update(self, record: DispatchRecord, changes: dict[str, Any], *,
                item: dict[str, Any] | None = None) -> DispatchRecord:
        """Conditional on the state read (status and round), so a concurrent ack or resend is never undone.
        ``item`` is the stored item ``record`` was read from, when the caller has it (saves a read)."""
        item = item if item is not None else self._item(record.dispatch_id)
        updated = record.model_copy(update=changes)
        try:
            self._put(updated, payload=str(item["payload"]), owner=str(item.get("subject_owner_id", "")),
                      expect={"status": record.status.value, "round": record.round})
        except ConditionFailed as exc:
            raise Conflict(f"dispatch {record.dispatch_id} changed concurrently") from exc
        return updated


def _endpoint_key(target: AgencyTarget) -> dict[str, str]:
    return {"pk": f"AGENCY#{target.value}", "sk": "webhook"}


def _endpoint(item: dict[str, Any] | None) -> AgencyEndpoint | None:
    if item is None:
        return None
    if "key_version" not in item:  # registered before secrets were derived: it must be registered again
        logger.warning("agency %s has a stored secret; register its webhook again", item.get("target"))
        return None
    return AgencyEndpoint.model_validate({k: v for k, v in item.items() if k in AgencyEndpoint.model_fields})


def _record(item: dict[str, Any]) -> DispatchRecord:
    return DispatchRecord.model_validate({k: v for k, v in item.items() if k in DispatchRecord.model_fields})
