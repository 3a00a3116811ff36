"""Composition root of agency delivery: every message to 112, 119 or a disaster room goes through it."""

from __future__ import annotations

from functools import partial

from chalicelib.adapters.resources import Resources
from chalicelib.adapters.secrets import load_secret
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


def agency_webhook_client(resources: Resources) -> HttpWebhookClient:
    """The client agency deliveries post with; it presents the platform's certificate where one is configured."""
    settings = resources.settings
    source = settings.agency_client_certificate_secret
    return HttpWebhookClient(client_certificate=partial(_client_certificate, resources, source) if source else None,
                             allow_private=settings.webhook_private_targets)


def _client_certificate(resources: Resources, source: str) -> bytes:
    # a file where one exists (local), else the Secrets Manager secret of that name
    return load_secret(source, resources.client("secretsmanager"), what="agency client certificate",
                       setting="AGENCY_CLIENT_CERTIFICATE_SECRET")


def build_agency_dispatch(resources: Resources, alerts: AlertService | None = None,
                          evidence: EvidenceLinks | None = None) -> DispatchService:
    settings = resources.settings
    return DispatchService(resources.table("records"), resources.queue("agency-dispatch"),
                           agency_webhook_client(resources),
                           alerts or control_center_alerts(resources), ack_timeout_s=settings.dispatch_ack_timeout_s,
                           evidence=evidence, keys=AgencyKeys(lambda: resources.secret(AGENCY_WEBHOOK_KEY)))
