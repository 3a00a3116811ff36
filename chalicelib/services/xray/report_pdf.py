"""A reading as a PDF report a health center can file or print, in Korean (default) or English.

Patient-free: it names the study by its id only (no patient attribute ever reaches it). It shows the
de-identified image and the heat map when there are ones, each finding (its Korean name, score, threshold,
decision), the triage, the model's name and version, the read time in KST, and, for a model not validated
for clinical use, the NON-CLINICAL statement as a banner. Rendered with ReportLab; Hangul needs a TrueType
font with Korean glyphs, embedded (subset) so every viewer shows it and text extraction reads it back.
Pure: a study and image bytes in, PDF bytes out.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image as PILImage
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from chalicelib.errors import ObjectMissing, PermanentError
from chalicelib.imaging import decode_image
from chalicelib.models.xray import Study
from chalicelib.ports import ObjectStore
from chalicelib.services.texts import kst
from chalicelib.services.xray.heatmap_legend import labelled_heatmap
from chalicelib.services.xray.studies import XrayStudies
from chalicelib.services.xray.words import FONT_CANDIDATES, finding_name

FONT_NAME = "GT-Korean"
TRIAGE: dict[str, dict[str, str]] = {
    "ko": {"urgent": "응급", "abnormal": "이상 소견", "normal": "정상 범위"},
    "en": {"urgent": "Urgent", "abnormal": "Abnormal", "normal": "Normal"},
}
WORDS: dict[str, dict[str, str]] = {
    "ko": {"title": "흉부 X선 AI 판독 보고서", "non_clinical": "비임상용(NON-CLINICAL) — 검증되지 않은 모델의 결과이므로 "
           "진단에 사용하지 마십시오.", "study": "검사 번호", "read": "판독 시각", "model": "AI 모델",
           "method": "히트맵 방법", "triage": "분류", "finding": "소견", "score": "점수", "threshold": "기준값",
           "decision": "판정", "positive": "양성", "negative": "음성", "image": "영상(비식별화)", "heatmap": "히트맵",
           "status": "상태", "no_reading": "판독 결과가 없습니다", "reason": "사유",
           "footer": "이 보고서에는 환자 정보가 포함되어 있지 않습니다. AI 결과는 의사의 판독을 대신하지 않습니다."},
    "en": {"title": "Chest X-ray AI reading report", "non_clinical": "NON-CLINICAL — the output of a model not "
           "validated for clinical use: never use it for diagnosis.", "study": "Study", "read": "Read at",
           "model": "AI model", "method": "Heat-map method", "triage": "Triage", "finding": "Finding",
           "score": "Score", "threshold": "Threshold", "decision": "Decision", "positive": "positive",
           "negative": "negative", "image": "Image (de-identified)", "heatmap": "Heat map", "status": "Status",
           "no_reading": "There is no reading", "reason": "Reason",
           "footer": "This report holds no patient information. An AI result does not replace a physician's reading."},
}
LOCALES = tuple(WORDS)


@dataclass(frozen=True)
class ReportImages:
    image_png: bytes | None = None
    heatmap_png: bytes | None = None


def korean_font(path: str | None = None) -> str:
    """Register (once) the Korean TrueType font and return its name; PermanentError when none is installed."""
    if FONT_NAME in pdfmetrics.getRegisteredFontNames():
        return FONT_NAME
    found = next((p for p in ([path] if path else FONT_CANDIDATES) if p and Path(p).is_file()), None)
    if found is None:
        raise PermanentError("no Korean font installed (Debian: fonts-nanum, `make system-deps`)")
    pdfmetrics.registerFont(TTFont(FONT_NAME, found, subfontIndex=0))
    return FONT_NAME


def render_report(study: Study, images: ReportImages, *, locale: str = "ko", font_path: str | None = None) -> bytes:
    if locale not in WORDS:
        raise ValueError(f"locale must be one of {LOCALES}")
    words, font = WORDS[locale], korean_font(font_path)
    body = ParagraphStyle("body", fontName=font, fontSize=10, leading=14)
    title = ParagraphStyle("title", parent=body, fontSize=16, leading=22)
    banner = ParagraphStyle("banner", parent=body, textColor=colors.white, backColor=colors.HexColor("#b00020"),
                            borderPadding=4, fontSize=11, leading=15)
    reading = study.reading
    story: list[object] = [Paragraph(words["title"], title), Spacer(1, 3 * mm)]
    if reading is None or not reading.model.clinical:
        story += [Paragraph(words["non_clinical"], banner), Spacer(1, 4 * mm)]
    facts = [[words["study"], study.study_id], [words["status"], study.status.value]]
    if reading is not None:
        facts += [[words["read"], kst(reading.completed_ms, locale)],
                  [words["model"], f"{reading.model.name} {reading.model.version}"],
                  [words["triage"], TRIAGE[locale][reading.triage.value]]]
        if reading.heatmap_method:
            facts.append([words["method"], reading.heatmap_method])
    elif study.reason is not None:
        facts.append([words["reason"], f"{study.reason.code}: {study.reason.message}"])
    story += [_table(facts, font, header=False), Spacer(1, 4 * mm)]
    if reading is None:
        story.append(Paragraph(words["no_reading"], body))
    else:
        rows = [[words["finding"], words["score"], words["threshold"], words["decision"]]]
        rows += [[finding_name(f.label, locale), f"{f.score:.3f}", f"{f.threshold:.2f}",
                  words["positive"] if f.positive else words["negative"]] for f in reading.findings]
        story += [_table(rows, font, header=True), Spacer(1, 5 * mm)]
        pictures = [(words["image"], images.image_png), (words["heatmap"], images.heatmap_png)]
        shown = [(caption, _image(data)) for caption, data in pictures if data]
        if shown:
            story.append(Table([[Paragraph(c, body) for c, _ in shown], [i for _, i in shown]],
                               style=TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")])))
    story += [Spacer(1, 6 * mm), Paragraph(words["footer"], body)]
    out = io.BytesIO()
    document = SimpleDocTemplate(out, pagesize=A4, title=words["title"], author="Golden Time",
                                 leftMargin=18 * mm, rightMargin=18 * mm, topMargin=16 * mm, bottomMargin=16 * mm)
    document.build(story)
    return out.getvalue()


def _table(rows: list[list[str]], font: str, *, header: bool) -> Table:
    style = [("FONTNAME", (0, 0), (-1, -1), font), ("FONTSIZE", (0, 0), (-1, -1), 10),
             ("GRID", (0, 0), (-1, -1), 0.4, colors.grey), ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]
    if header:
        style.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef7")))
    else:
        style.append(("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#f3f3f3")))
    return Table(rows, style=TableStyle(style), hAlign="LEFT")


def _image(png: bytes, width_mm: float = 80) -> Image:
    picture = Image(io.BytesIO(png))
    scale = width_mm * mm / picture.imageWidth
    picture.drawWidth, picture.drawHeight = picture.imageWidth * scale, picture.imageHeight * scale
    return picture


class StudyReports:
    """A center's PDF report of one of its studies, with the images its reading stored."""

    def __init__(self, studies: XrayStudies, store: ObjectStore, *, font_path: str | None = None) -> None:
        self._studies = studies
        self._store = store
        self._font_path = font_path

    def pdf(self, study_id: str, center_id: str, *, locale: str) -> bytes:
        study = self._studies.owned(study_id, center_id)
        reading = study.reading
        images = ReportImages()
        if reading is not None:
            overlay = self._bytes(reading.heatmap_key)  # the report shows it with its legend, in the report's language
            images = ReportImages(image_png=self._image(reading.deid_key), heatmap_png=labelled_heatmap(
                overlay, reading, locale=locale, font_path=self._font_path) if overlay else None)
        return render_report(study, images, locale=locale, font_path=self._font_path)

    def _bytes(self, key: str | None) -> bytes | None:
        if key is None:
            return None
        try:
            return self._store.get(key)
        except ObjectMissing:
            return None

    def _image(self, deid_key: str | None) -> bytes | None:
        """The de-identified copy's pixels as a greyscale PNG (never the upload itself: it may show identity)."""
        data = self._bytes(deid_key)
        if data is None:
            return None
        pixels = decode_image(data).pixels
        grey = PILImage.fromarray((np.clip(pixels, 0, 1) * 255).astype(np.uint8), mode="L")
        grey.thumbnail((512, 512))
        out = io.BytesIO()
        grey.save(out, format="PNG")
        return out.getvalue()
