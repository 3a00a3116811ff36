"""Agency receipts: GET /v1/dispatches/{id}, POST /v1/dispatches/{id}/ack (the receiving agency)."""

from __future__ import annotations

from chalice.app import Blueprint, Request

from chalicelib.api.context import platform
from chalicelib.api.http import Caller, endpoint
from chalicelib.clock import now_ms
from chalicelib.errors import NotFound
from chalicelib.models.dispatch import DispatchAck, DispatchView
from chalicelib.models.principal import PrincipalKind

dispatches = Blueprint(__name__)


@endpoint(dispatches, "/v1/dispatches/{dispatch_id}", allow={PrincipalKind.AGENCY, PrincipalKind.OPERATOR})
def get_dispatch(caller: Caller, request: Request, dispatch_id: str) -> DispatchView:
    """Delivery and receipt state of a dispatch (the agency it was sent to, or an operator)."""
    agencies = platform().saferet.agencies
    record = agencies.get(dispatch_id)
    if caller.principal.kind is PrincipalKind.AGENCY:
        registered = agencies.endpoint(record.target)
        if registered is None or registered.principal_id != caller.id:
            raise NotFound(f"no dispatch {dispatch_id}")
    return DispatchView.model_validate(record)


@endpoint(dispatches, "/v1/dispatches/{dispatch_id}/ack", methods=["POST"], allow={PrincipalKind.AGENCY})
def ack_dispatch(caller: Caller, request: Request, dispatch_id: str, *, body: DispatchAck) -> DispatchView:
    """The receipt: a person in the situation room took the case (their case number); idempotent."""
    return DispatchView.model_validate(platform().saferet.agencies.ack(dispatch_id, caller.id, body, now_ms()))
