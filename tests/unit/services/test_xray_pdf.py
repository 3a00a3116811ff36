"""The PDF report of a reading, read back with a PDF text extractor (pypdf): the Korean finding names, scores,
thresholds, model and version, the KST time and the NON-CLINICAL statement are in the text; nothing of the
patient is."""

from __future__ import annotations

import io

import pypdf
import pytest
from dicom_results_support import heatmap_png, settled_study

from chalicelib.errors import PermanentError
from chalicelib.models.xray import Reason, StudyStatus
from chalicelib.services.xray.report_pdf import ReportImages, korean_font, render_report


def text_of(pdf: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


def images_of(pdf: bytes) -> int:
    return sum(len(page.images) for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)


def test_a_korean_report_reads_back_with_the_korean_findings_and_the_non_clinical_statement():
    study = settled_study(completed_ms=1_790_000_000_000)  # 2026-09-21 14:13 UTC = 23:13 KST
    pdf = render_report(study, ReportImages(image_png=heatmap_png(1), heatmap_png=heatmap_png(2)), locale="ko")
    assert pdf.startswith(b"%PDF-")
    text = text_of(pdf)
    # THEN the Korean names of the three findings, with score, threshold and decision
    for name in ("폐 음영 증가", "좌우 폐야 비대칭", "심장 음영 확대"):
        assert name in text
    assert "0.910" in text and "0.120" in text and "0.550" in text and "0.50" in text
    assert text.count("양성") == 2 and text.count("음성") == 1  # two positive, one negative
    # AND the model, its version, the read time in KST, the triage and the NON-CLINICAL statement
    assert "gt-reference-cxr 1.0.0" in text
    assert "2026년 9월 21일 23:13 KST" in text
    assert "응급" in text
    assert "비임상용(NON-CLINICAL)" in text and "진단에 사용하지 마십시오" in text
    # AND both pictures are embedded
    assert images_of(pdf) == 2


def test_the_english_report_and_a_clinical_model_without_the_banner():
    study = settled_study(clinical=True)
    text = text_of(render_report(study, ReportImages(), locale="en"))
    assert "Chest X-ray AI reading report" in text and "opacity" in text and "cardiac silhouette" in text
    assert "2026-09-21 23:13 KST" in text
    assert "NON-CLINICAL" not in text


def test_a_rejected_study_says_why_and_holds_no_reading():
    study = settled_study().model_copy(update={"status": StudyStatus.REJECTED, "reading": None,
                                               "reason": Reason(code="colour_photo", message="a colour photograph")})
    text = text_of(render_report(study, ReportImages(), locale="ko"))
    assert "colour_photo" in text and "판독 결과가 없습니다" in text and "비임상용" in text


def test_no_font_is_a_configuration_error_not_a_broken_pdf(monkeypatch):
    from reportlab.pdfbase import pdfmetrics

    monkeypatch.setattr(pdfmetrics, "getRegisteredFontNames", lambda: [])
    with pytest.raises(PermanentError, match="fonts-nanum"):
        korean_font("/nonexistent/font.ttf")


def test_an_unknown_locale_is_refused():
    with pytest.raises(ValueError, match="locale"):
        render_report(settled_study(), ReportImages(), locale="fr")
