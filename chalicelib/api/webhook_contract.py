"""The webhooks we POST, for the contract's OpenAPI 3.1 ``webhooks`` map: what agencies and health centers
receive (the payload models, exactly as sent), how they verify it, and what we do with their answer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, get_args

from pydantic import BaseModel

from chalicelib.catalog import build_catalog
from chalicelib.models.agency_payload import AGENCY_PAYLOADS
from chalicelib.models.center_webhook import WebhookEvent, WebhookEventType
from chalicelib.services.dispatch.service import WEBHOOK_TIMEOUT_S
from chalicelib.services.dispatch.signing import (
    DISPATCH_HEADER,
    ROUND_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    TOLERANCE_S,
)
from chalicelib.services.xray.center_webhooks import DELIVERY_HEADER, EVENT_HEADER
from chalicelib.services.xray.center_webhooks import TIMEOUT_S as CENTER_TIMEOUT_S

TAG = "webhooks"
TAG_DESCRIPTION = ("What we POST to agencies and health centers: signed JSON, retried until a 2xx "
                   "(verify each delivery before trusting it).")
SIGNATURE_PATTERN = r"^v1=[0-9a-f]{64}$"

_VERIFY = (f"Verify every delivery before acting on it: compute HMAC-SHA256 with your webhook secret (its UTF-8 "
           f"bytes) as the key over the ASCII {TIMESTAMP_HEADER} value, a '.' and the raw request body bytes "
           f"(before any JSON parsing), hex-encode it (lowercase) and compare it in constant time with the part after "
           f"'v1=' of {SIGNATURE_HEADER}. Refuse the delivery (answer 401) when they differ or when "
           f"{TIMESTAMP_HEADER} is more than {TOLERANCE_S} s from your clock (a replay).")


def _header(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "header", "required": True, "description": description, "schema": schema}


def _signature_headers(secret_from: str) -> list[dict[str, Any]]:
    return [
        _header(TIMESTAMP_HEADER, "When we signed it, Unix seconds: part of the signed message.",
                {"type": "string", "pattern": "^[0-9]+$"}),
        _header(SIGNATURE_HEADER, f"v1=<hex HMAC-SHA256>, the secret being the one {secret_from} answered once. "
                + _VERIFY, {"type": "string", "pattern": SIGNATURE_PATTERN}),
    ]


def _responses(timeout_s: float, retries: str) -> dict[str, Any]:
    return {
        "2XX": {"description": f"Delivered: any 2xx within {timeout_s:g} s; the body of the answer is ignored."},
        "default": {"description": f"Not delivered: any other status (a 3xx is not followed), no answer within "
                                   f"{timeout_s:g} s or no connection. {retries}"},
    }


def _retries(queue: str, again: str, after: str) -> str:
    attempts = build_catalog("docs").queue(queue).max_receive_count
    return (f"{again} after a backoff of 2, 4, 8, 16, 32 then 60 s between attempts, {attempts} attempts in all; "
            f"then it waits in a dead-letter queue, {after}.")


def webhooks(schema: Callable[[type[BaseModel]], dict[str, Any]]) -> dict[str, Any]:
    """The ``webhooks`` map; ``schema`` registers a model among the components and answers its ``$ref``."""
    agency = {
        "operationId": "agency_dispatch_webhook", "tags": [TAG],
        "summary": "A dispatch to a situation room (112, 119, disaster room): one POST per dispatch and round",
        "description": (
            "Set per agency with the admin CLI, `gt-admin agency webhook` (it prints the secret once). The body is one of: "
            "an SOS (Dispatch112), an evidence follow-up (EvidenceFollowUp), a disaster report (DisasterDispatch), "
            "an operator's video-link bundle (VideoLinkGrant) or a missing-person search answer (SearchAnswer); "
            "each admits no other keys, so exactly one matches. Delivery is at least once: de-duplicate on "
            f"{DISPATCH_HEADER}. A 2xx means your system has it; a person taking the case acknowledges it with "
            "`POST /v1/dispatches/{dispatch_id}/ack` (operation ack_dispatch). A dispatch not acknowledged by its deadline "
            f"raises an urgent alert in the control center and is sent again as a new round ({ROUND_HEADER}), "
            "with the same dispatch id, until someone acknowledges it. Mutual TLS where your gateway requires it: "
            "the platform presents the deployment's client certificate (you are given the CA that issued it), and a "
            "gateway on a private PKI has its CA pinned at registration (`--server-ca`), trusted instead of the "
            "public ones."),
        "parameters": [
            *_signature_headers("registering or rotating the agency's webhook"),
            _header(DISPATCH_HEADER, "The dispatch id: the de-duplication key, and the {id} of its acknowledgement.",
                    {"type": "string", "minLength": 1}),
            _header(ROUND_HEADER, "1 for the first sending; raised each time an unacknowledged dispatch is sent "
                                  "again.", {"type": "string", "pattern": "^[1-9][0-9]*$"}),
        ],
        "requestBody": {"required": True, "content": {"application/json": {
            "schema": {"oneOf": [schema(model) for model in AGENCY_PAYLOADS]}}}},
        "responses": _responses(WEBHOOK_TIMEOUT_S, _retries(
            "agency-dispatch", "It is sent again, newly signed (evidence links are signed afresh each time),",
            "and the unacknowledged dispatch still goes out in new rounds")),
    }
    center = {
        "operationId": "xray_study_event_webhook", "tags": [TAG],
        "summary": "A settled X-ray study (read, rejected or failed): one POST per study outcome",
        "description": (
            "Subscribed per health center with `PUT /v1/xray/webhook` (its answer is the secret). Delivery is at "
            f"least once: de-duplicate on {DELIVERY_HEADER} (equal to the body's delivery_id)."),
        "parameters": [
            *_signature_headers("PUT /v1/xray/webhook"),
            _header(DELIVERY_HEADER, "The delivery id, stable per study outcome: the de-duplication key.",
                    {"type": "string", "pattern": "^whd-[0-9a-f]{24}$"}),
            _header(EVENT_HEADER, "The body's type.", {"type": "string", "enum": list(get_args(WebhookEventType))}),
        ],
        "requestBody": {"required": True, "content": {"application/json": {
            "schema": schema(WebhookEvent)}}},
        "responses": _responses(CENTER_TIMEOUT_S, _retries(
            "center-webhooks", "The same body is sent again, newly signed,",
            "from where an operator replays it (`gt-admin xray-webhooks replay`)")),
    }
    return {"agency-dispatch": {"post": agency}, "xray-study-event": {"post": center}}
