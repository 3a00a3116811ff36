"""X-ray studies: POST /v1/xray/studies (presigned upload), GET /v1/xray/studies (the center's own, paged),
GET /v1/xray/studies/{study_id}."""

from __future__ import annotations

import time

from chalice.app import Blueprint, Request

from chalicelib.api.context import platform
from chalicelib.api.http import Caller, endpoint
from chalicelib.models.principal import PrincipalKind
from chalicelib.models.xray import StudyCreate, StudyCreated, StudyList, StudyListQuery, StudyView
from chalicelib.services.xray import XrayStudies
from chalicelib.services.xray_listing import StudyListing

xray = Blueprint(__name__)


def _studies() -> XrayStudies:
    resources = platform().resources
    return XrayStudies(resources.table("records"), resources.store("xray"))


@endpoint(xray, "/v1/xray/studies", methods=["POST"], allow={PrincipalKind.HEALTH_CENTER}, status=201)
def create_study(caller: Caller, request: Request, *, body: StudyCreate | None = None) -> StudyCreated:
    return _studies().create(caller.id, body or StudyCreate(), now_ms=int(time.time() * 1000))


@endpoint(xray, "/v1/xray/studies/{study_id}", allow={PrincipalKind.HEALTH_CENTER})
def get_study(caller: Caller, request: Request, study_id: str) -> StudyView:
    return _studies().view(study_id, caller.id)


@endpoint(xray, "/v1/xray/studies", allow={PrincipalKind.HEALTH_CENTER})
def list_studies(caller: Caller, request: Request, *, query: StudyListQuery) -> StudyList:
    """The caller's own studies, newest first; filter by status and creation time, page with next_cursor."""
    return StudyListing(platform().resources.table("records")).page(caller.id, query)
