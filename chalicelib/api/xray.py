"""X-ray studies: POST /v1/xray/studies (presigned upload), GET /v1/xray/studies (the center's own, paged),
GET /v1/xray/studies/{study_id}, and STOW-RS POST /v1/xray/dicomweb/studies (studies in from the center's PACS)."""

from __future__ import annotations

from chalice.app import Blueprint, Request, Response

from chalicelib.api.context import platform
from chalicelib.api.http import Caller, RawBody, endpoint
from chalicelib.clock import now_ms
from chalicelib.models.principal import PrincipalKind
from chalicelib.models.xray import ReportQuery, StudyCreate, StudyCreated, StudyList, StudyListQuery, StudyView
from chalicelib.services.xray.listing import StudyListing
from chalicelib.services.xray.report_pdf import StudyReports
from chalicelib.services.xray.stow import RESPONSE_TYPE, StowIngest
from chalicelib.services.xray.studies import XrayStudies

xray = Blueprint(__name__)
STOW_UID_KEY = "stow-uid-key"  # the catalog secret that keys the hashes of instances received by STOW-RS


def _studies() -> XrayStudies:
    resources = platform().resources
    return XrayStudies(resources.table("records"), resources.store("xray"))


@endpoint(xray, "/v1/xray/studies", methods=["POST"], allow={PrincipalKind.HEALTH_CENTER}, status=201)
def create_study(caller: Caller, request: Request, *, body: StudyCreate | None = None) -> StudyCreated:
    return _studies().create(caller.id, body or StudyCreate(), now_ms=now_ms())


@endpoint(xray, "/v1/xray/studies/{study_id}", allow={PrincipalKind.HEALTH_CENTER})
def get_study(caller: Caller, request: Request, study_id: str) -> StudyView:
    return _studies().view(study_id, caller.id)


@endpoint(xray, "/v1/xray/studies", allow={PrincipalKind.HEALTH_CENTER})
def list_studies(caller: Caller, request: Request, *, query: StudyListQuery) -> StudyList:
    """The caller's own studies, newest first; filter by status and creation time, page with next_cursor."""
    return StudyListing(platform().resources.table("records")).page(caller.id, query)


# Every media type reaches the view (after authentication); the service answers 415 for all but STOW-RS's.
@endpoint(xray, "/v1/xray/dicomweb/studies", methods=["POST"], allow={PrincipalKind.HEALTH_CENTER},
          content_types=["*/*"], raw_media='multipart/related; type="application/dicom"',
          media_responses=[("200", "every instance stored (Store Instances Response)", RESPONSE_TYPE),
                           ("202", "some instances stored; Failed SOP Sequence names the others", RESPONSE_TYPE),
                           ("409", "no instance stored; Failed SOP Sequence says why", RESPONSE_TYPE)])
def stow_studies(caller: Caller, request: Request, *, raw: RawBody) -> Response:
    """STOW-RS Store Instances (PS3.18): multipart/related; type="application/dicom", one study per instance."""
    resources = platform().resources
    ingest = StowIngest(_studies(), resources.table("records"), resources.secret(STOW_UID_KEY))
    outcome = ingest.store(caller.id, raw.content_type, raw.data, now_ms=now_ms())
    base = _base_url(request)
    headers: dict[str, str | list[str]] = {"Content-Type": RESPONSE_TYPE}
    if outcome.failed:  # PS3.18 8.4.1: the reasons in words, as Warning 299 values
        headers["Warning"] = ", ".join(f'299 golden-time "{uid or "part"}: {why}"' for _, uid, _, why in outcome.failed)
    return Response(body=outcome.response(lambda study_id: f"{base}/v1/xray/studies/{study_id}"),
                    status_code=outcome.status, headers=headers)


def _base_url(request: Request) -> str:
    host = request.headers.get("host", "localhost")
    scheme = request.headers.get("x-forwarded-proto", "https")
    stage = str(request.context.get("stage") or "")
    prefix = f"/{stage}" if stage and "execute-api" in host else ""  # the default endpoint names its stage
    return f"{scheme}://{host}{prefix}"


@endpoint(xray, "/v1/xray/studies/{study_id}/report", allow={PrincipalKind.HEALTH_CENTER},
          media_responses=[("200", "the report", "application/pdf")])
def study_report(caller: Caller, request: Request, study_id: str, *, query: ReportQuery) -> Response:
    """The study's reading as a PDF report (Korean or English); send Accept: application/pdf."""
    resources = platform().resources
    reports = StudyReports(_studies(), resources.store("xray"), font_path=platform().settings.report_font_path)
    pdf = reports.pdf(study_id, caller.id, locale=query.lang)
    return Response(body=pdf, status_code=200,
                    headers={"Content-Type": "application/pdf",
                             "Content-Disposition": f'inline; filename="{study_id}-{query.lang}.pdf"'})
