"""A health center's webhook: PUT /v1/xray/webhook (subscribe or rotate; the secret shown once), GET it."""

from __future__ import annotations

from chalice.app import Blueprint, Request

from chalicelib.adapters.webhook import HttpWebhookClient
from chalicelib.api.context import platform
from chalicelib.api.http import Caller, endpoint
from chalicelib.errors import NotFound
from chalicelib.models.center_webhook import WebhookSecretIssued, WebhookSubscribe, WebhookView
from chalicelib.models.principal import PrincipalKind
from chalicelib.services.audit import AuditLog
from chalicelib.services.xray.center_webhooks import CenterWebhooks
from chalicelib.services.xray.studies import XrayStudies

xray_webhooks = Blueprint(__name__)
WEBHOOK_KEY = "center-webhook-key"


def _webhooks() -> CenterWebhooks:
    resources = platform().resources
    return CenterWebhooks(resources.table("records"), XrayStudies(resources.table("records"), resources.store("xray")),
                          HttpWebhookClient(allow_private=resources.settings.webhook_private_targets),
                          AuditLog(resources.table("audit")), resources.secret(WEBHOOK_KEY))


@endpoint(xray_webhooks, "/v1/xray/webhook", methods=["PUT"], allow={PrincipalKind.HEALTH_CENTER})
def subscribe_webhook(caller: Caller, request: Request, *, body: WebhookSubscribe) -> WebhookSecretIssued:
    """Subscribe (or move) the center's webhook; answers a new signing secret, shown this once."""
    return _webhooks().subscribe(caller.id, body)


@endpoint(xray_webhooks, "/v1/xray/webhook", allow={PrincipalKind.HEALTH_CENTER})
def get_webhook(caller: Caller, request: Request) -> WebhookView:
    """The center's webhook subscription (never its secret)."""
    subscription = _webhooks().subscription(caller.id)
    if subscription is None:
        raise NotFound("no webhook subscribed; PUT /v1/xray/webhook with a url")
    return WebhookView.model_validate(subscription)
