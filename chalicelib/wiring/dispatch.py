"""Composition root of agency delivery: every message to 112, 119 or a disaster room goes through it."""

from __future__ import annotations

from chalicelib.adapters.resources import Resources
from chalicelib.adapters.webhook import HttpWebhookClient
from chalicelib.services.audit import AuditLog
from chalicelib.services.dispatch.evidence import EvidenceLinks
from chalicelib.services.dispatch.secrets import AgencyKeys
from chalicelib.services.dispatch.service import DispatchService
from chalicelib.services.saferet.alerts import AlertService

AGENCY_WEBHOOK_KEY = "agency-webhook-key"


def control_center_alerts(resources: Resources) -> AlertService:
    return AlertService(resources.table("records"), resources.topic("control-center"),
                        audit=AuditLog(resources.table("audit")))


def build_agency_dispatch(resources: Resources, alerts: AlertService | None = None,
                          evidence: EvidenceLinks | None = None) -> DispatchService:
    settings = resources.settings
    return DispatchService(resources.table("records"), resources.queue("agency-dispatch"),
                           HttpWebhookClient(allow_private=settings.webhook_private_targets),
                           alerts or control_center_alerts(resources), ack_timeout_s=settings.dispatch_ack_timeout_s,
                           evidence=evidence, keys=AgencyKeys(lambda: resources.secret(AGENCY_WEBHOOK_KEY)))
