"""Signed webhooks to health centers: every settled study (reading, rejection, failure) POSTed once.

Signing follows the agencies' scheme (``services.dispatch.signing``): ``X-GT-Timestamp`` and
``X-GT-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>." + body)>``, with ``X-GT-Delivery-Id`` as the
de-duplication key. A center's secret is never stored: it is HMAC-SHA256 of the platform's webhook key (a
Secrets Manager secret of the catalog) over ``<center>:<key version>``, derived when signing and shown to the
center once when it subscribes; subscribing again bumps the version (a new secret, the old one dead).

Exactly once per outcome: the delivery id is derived from (center, study, status), and a 2xx is written to a
ledger that later deliveries of the same notice check first. A center that answers anything else, or cannot
be reached, raises TransientError: the queue retries with backoff and, past its receive count, dead-letters
the notice (``gt-admin xray-webhooks replay`` sends those again). Every attempt is audited. Pure: ports in.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Callable

from chalicelib.errors import ConditionFailed, TransientError
from chalicelib.models.center_webhook import (
    EVENT_TYPES,
    WebhookDelivered,
    WebhookEvent,
    WebhookSecretIssued,
    WebhookSubscribe,
    WebhookSubscription,
)
from chalicelib.models.xray import Study, StudyNotice, StudyStatus
from chalicelib.ports import Table, WebhookClient
from chalicelib.services.audit import AuditLog
from chalicelib.services.dispatch.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from chalicelib.services.xray.studies import XrayStudies

logger = logging.getLogger(__name__)
DELIVERY_HEADER = "X-GT-Delivery-Id"
EVENT_HEADER = "X-GT-Event"
TIMEOUT_S = 5.0
SCHEME = ("X-GT-Signature: v1=<hex HMAC-SHA256(key = secret as UTF-8, message = X-GT-Timestamp + '.' + raw body)>;"
          " refuse timestamps more than 300 s off; de-duplicate on X-GT-Delivery-Id")


def _pk(center_id: str) -> str:
    return f"WEBHOOK#{center_id}"


def delivery_id(center_id: str, study_id: str, status: StudyStatus) -> str:
    digest = hashlib.sha256(f"{center_id}|{study_id}|{status.value}".encode()).hexdigest()[:24]
    return f"whd-{digest}"


class CenterWebhooks:
    def __init__(self, table: Table, studies: XrayStudies, client: WebhookClient, audit: AuditLog, master_key: str,
                 *, clock: Callable[[], float] = time.time) -> None:
        self._table = table
        self._studies = studies
        self._client = client
        self._audit = audit
        self._master = master_key.encode()
        self._clock = clock

    def secret(self, center_id: str, version: int) -> str:
        return hmac.new(self._master, f"{center_id}:{version}".encode(), hashlib.sha256).hexdigest()

    # ---- the center's side (API) ----------------------------------------------------------
    def subscribe(self, center_id: str, body: WebhookSubscribe) -> WebhookSecretIssued:
        current = self.subscription(center_id)
        version = current.key_version + 1 if current else 1
        subscription = WebhookSubscription(center_id=center_id, url=body.url, key_version=version,
                                           created_ms=int(self._clock() * 1000))
        self._table.put({"pk": _pk(center_id), "sk": "subscription", **subscription.model_dump(mode="json")})
        self._audit.append("webhook.subscribed", actor=center_id, subject=center_id,
                           details={"url": body.url, "key_version": version})
        return WebhookSecretIssued(url=body.url, key_version=version, secret=self.secret(center_id, version),
                                   signature=SCHEME)

    def subscription(self, center_id: str) -> WebhookSubscription | None:
        item = self._table.get({"pk": _pk(center_id), "sk": "subscription"})
        if item is None:
            return None
        return WebhookSubscription.model_validate({k: v for k, v in item.items() if k in WebhookSubscription.model_fields})

    # ---- the worker's side ----------------------------------------------------------------
    def deliver(self, notice: StudyNotice, *, replay: bool = False) -> WebhookDelivered | None:
        """POST the notice's outcome once; None when there is nothing to send (no subscription, no such study,
        still pending) or it was delivered already (``replay`` sends it again, under the same delivery id)."""
        if notice.status is StudyStatus.PENDING:
            return None
        subscription = self.subscription(notice.center_id)
        study = self._studies.find(notice.study_id)
        if subscription is None or study is None or study.center_id != notice.center_id:
            return None
        event = _event(study, notice.status)
        ledger = {"pk": _pk(notice.center_id), "sk": f"delivery#{event.delivery_id}"}
        if not replay and self._table.get(ledger) is not None:
            return None
        body = event.model_dump_json().encode()
        now_s = int(self._clock())
        headers = {"Content-Type": "application/json; charset=utf-8", TIMESTAMP_HEADER: str(now_s),
                   SIGNATURE_HEADER: sign(self.secret(notice.center_id, subscription.key_version), now_s, body),
                   DELIVERY_HEADER: event.delivery_id, EVENT_HEADER: event.type}
        try:
            status = self._client.post(subscription.url, body, headers, timeout_s=TIMEOUT_S)
            error = None if 200 <= status < 300 else f"answered HTTP {status}"
        except TransientError as exc:
            error = str(exc)[:300]
        if error is not None:
            self._audit.append("webhook.delivery", actor="center-webhooks", result="failed", subject=study.study_id,
                               details={"delivery_id": event.delivery_id, "url": subscription.url, "error": error})
            raise TransientError(f"webhook of {notice.center_id} for {study.study_id}: {error}")
        delivered = WebhookDelivered(delivery_id=event.delivery_id, study_id=study.study_id, url=subscription.url,
                                     http_status=status, delivered_ms=int(self._clock() * 1000))
        try:
            self._table.put({**ledger, **delivered.model_dump(mode="json")}, if_absent=not replay)
        except ConditionFailed:  # a concurrent delivery of the same notice recorded it first
            return None
        self._audit.append("webhook.delivery", actor="center-webhooks", subject=study.study_id,
                           details=delivered.model_dump(mode="json"))
        return delivered


def _event(study: Study, status: StudyStatus) -> WebhookEvent:
    reading = study.reading
    return WebhookEvent(
        delivery_id=delivery_id(study.center_id, study.study_id, status), type=EVENT_TYPES[status],
        study_id=study.study_id, center_id=study.center_id, status=status,
        triage=reading.triage if reading else None,
        positive_findings=[f.label for f in reading.findings if f.positive] if reading else [],
        model=f"{reading.model.name} {reading.model.version}" if reading else None,
        non_clinical=(not reading.model.clinical) if reading else None,
        reason_code=study.reason.code if study.reason else None,
        reason=study.reason.message if study.reason else None, settled_ms=study.updated_ms)
