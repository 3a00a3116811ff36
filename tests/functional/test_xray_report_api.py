"""GET /v1/xray/studies/{id}/report through the real app under moto: the center's own study as a PDF, in
Korean by default, with the de-identified image and the heat map, and nothing of the patient."""

from __future__ import annotations

import io
import time

import pypdf
import pytest
from dicom_results_support import deidentified_source, heatmap_png, settled_study
from xray_api_support import call

from chalicelib.api import context
from chalicelib.cli import create_principal
from chalicelib.models.principal import PrincipalKind
from chalicelib.models.xray import StudyCreate
from chalicelib.services.xray.studies import XrayStudies

CENTER = "hc-mapo"


@pytest.fixture
def tokens(aws):
    context.reset_platform()
    _, mapo = create_principal(PrincipalKind.HEALTH_CENTER, "Mapo", principal_id=CENTER, resources=aws)
    _, jongno = create_principal(PrincipalKind.HEALTH_CENTER, "Jongno", principal_id="hc-jongno", resources=aws)
    yield mapo, jongno
    context.reset_platform()


def done_study(aws) -> str:
    studies, store = XrayStudies(aws.table("records"), aws.store("xray")), aws.store("xray")
    now_ms = int(time.time() * 1000)
    study = studies.get(studies.create(CENTER, StudyCreate(filename="chest.dcm"), now_ms=now_ms).study_id)
    template = settled_study(study.study_id, CENTER, completed_ms=now_ms)
    assert template.reading is not None and template.source is not None and template.reading.deid_key
    study = studies.complete(study, template.reading, template.source, now_ms=now_ms)
    store.put(template.reading.deid_key, deidentified_source(), content_type="application/dicom")
    key = f"reports/{CENTER}/{study.study_id}/heatmap.png"
    store.put(key, heatmap_png(), content_type="image/png")
    studies.add_heatmap(study, template.reading.model_copy(update={"heatmap_key": key}), now_ms=now_ms)
    return study.study_id


def report(token: str, study_id: str, accept: str = "application/pdf", **query: str):
    return call("GET", f"/v1/xray/studies/{study_id}/report", token, resource="/v1/xray/studies/{study_id}/report",
                path_parameters={"study_id": study_id}, query=query, headers=[("Accept", accept)])


def test_a_center_gets_its_reading_as_a_korean_pdf_with_both_images_and_no_patient(aws, tokens):
    mapo, jongno = tokens
    study_id = done_study(aws)
    status, headers, pdf = report(mapo, study_id)
    assert status == 200 and headers["Content-Type"] == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "폐 음영 증가" in text and "비임상용" in text and study_id in text
    assert sum(len(page.images) for page in reader.pages) == 2
    assert not any(name in text for name in ("Hong", "Gildong", "P-0001"))
    status, _, pdf = report(mapo, study_id, lang="en")
    assert status == 200 and "Chest X-ray AI reading report" in pypdf.PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    # AND another center's study is a 404, an unknown language a 422
    status, _, body = report(jongno, study_id)
    assert status == 404 and body["error"]["code"] == "not_found"
    status, _, body = report(mapo, study_id, lang="fr")
    assert status == 422
