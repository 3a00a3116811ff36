"""Protected persons: POST /v1/protected, GET /v1/protected/{id}, POST /v1/protected/{id}/positions
(the guardian's app principal; another owner's person answers 404)."""

from __future__ import annotations

import secrets

from chalice.app import Blueprint, Request

from chalicelib.api.context import platform
from chalicelib.api.guards import limit
from chalicelib.api.http import Caller, endpoint
from chalicelib.clock import now_ms
from chalicelib.models.alert import RaisedAlerts
from chalicelib.models.principal import PrincipalKind
from chalicelib.models.protected import ProtectedCreatedView, ProtectedPersonView, ProtectedPositions, ProtectedRegistration

protected = Blueprint(__name__)


@endpoint(protected, "/v1/protected", methods=["POST"], allow={PrincipalKind.APP}, status=201)
def register_person(caller: Caller, request: Request, *, body: ProtectedRegistration) -> ProtectedCreatedView:
    """Register a protected person with safe zones; answers a presigned upload for their photo."""
    limit(caller, "api")
    created = platform().saferet.protected.register(caller.id, f"pp-{secrets.token_hex(8)}", body, now_ms())
    return ProtectedCreatedView.model_validate(created)


@endpoint(protected, "/v1/protected/{person_id}", allow={PrincipalKind.APP})
def get_person(caller: Caller, request: Request, person_id: str) -> ProtectedPersonView:
    """One of the caller's own protected persons."""
    limit(caller, "api")
    return ProtectedPersonView.model_validate(platform().saferet.protected.get(person_id, caller.id))


@endpoint(protected, "/v1/protected/{person_id}/positions", methods=["POST"], allow={PrincipalKind.APP})
def person_positions(caller: Caller, request: Request, person_id: str, *, body: ProtectedPositions) -> RaisedAlerts:
    """Fixes from their phone or wearable; answers the zone-exit alerts raised."""
    limit(caller, "api")
    return RaisedAlerts(alerts=platform().saferet.protected.add_positions(caller.id, person_id, body.batch(), now_ms()))
