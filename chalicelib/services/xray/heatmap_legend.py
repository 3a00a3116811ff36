"""The heat map as people see it outside the console: the overlay with a legend band below it, in Korean.

A PACS viewer or a printed report shows only the picture, so the picture itself says what it is: the
finding the map explains (its name in Korean, score and threshold), the colour scale from 0 to 1 in the
overlay's own colours, and a NON-CLINICAL mark whenever the model is not clinical. The stored
``heatmap.png`` stays the bare overlay, pixel-aligned with the radiograph (the console hangs it over the
image and draws its own legend); this rendition is made from it on the way out. Pure: bytes in, bytes out.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from chalicelib.errors import PermanentError
from chalicelib.models.xray import Reading
from chalicelib.services.xray.words import FONT_CANDIDATES, finding_name

MIN_WIDTH = 512  # the reader's overlay is at most 256 px: scaled up so the legend's Hangul stays legible
OVERLAY_ALPHA = 0.55  # as ``reader.overlay_png`` blends the map in
WORDS = {
    "ko": {"title": "AI 히트맵", "finding": "소견", "score": "점수", "threshold": "기준", "low": "낮음",
           "high": "높음", "non_clinical": "비임상(NON-CLINICAL) · 진단용 아님"},
    "en": {"title": "AI heat map", "finding": "Finding", "score": "score", "threshold": "threshold", "low": "low",
           "high": "high", "non_clinical": "NON-CLINICAL · not for diagnosis"},
}


@dataclass(frozen=True)
class LegendLayout:
    """Where the band's parts are, in the labelled picture's pixels (x0, y0, x1, y1)."""

    image: tuple[int, int, int, int]
    title: tuple[int, int, int, int]
    bar: tuple[int, int, int, int]
    mark: tuple[int, int, int, int] | None


def scale_colours(heat: np.ndarray, background: float = 0.5) -> np.ndarray:
    """RGB (0..1) of heat values blended over a grey ``background``, exactly as the overlay blends them."""
    alpha = OVERLAY_ALPHA * heat
    keep = background * (1 - alpha)
    return np.stack([keep + alpha, keep + alpha * heat, keep], axis=-1)


def layout(width: int, height: int, *, clinical: bool) -> LegendLayout:
    """The labelled picture's geometry for an overlay scaled to ``width`` × ``height``."""
    unit = max(14, width // 32)  # text size
    pad = unit // 2
    title = (pad, height + pad, width - pad, height + pad + unit + 4)
    bar_top = title[3] + pad
    bar = (pad + 4 * unit, bar_top, width - pad - 4 * unit, bar_top + unit)  # room for the end labels
    mark = (pad, bar[3] + pad, width - pad, bar[3] + pad + unit + 6) if not clinical else None
    return LegendLayout(image=(0, 0, width, height), title=title, bar=bar, mark=mark)


@cache
def _font(size: int, path: str | None) -> ImageFont.FreeTypeFont:
    for candidate in [path] if path else FONT_CANDIDATES:
        if candidate and Path(candidate).is_file():
            return ImageFont.truetype(candidate, size)
    raise PermanentError("no Korean font installed (Debian: fonts-nanum, `make system-deps`)")


def labelled_heatmap(overlay_png: bytes, reading: Reading, *, locale: str = "ko", font_path: str | None = None) -> bytes:
    """The overlay (scaled to at least ``MIN_WIDTH`` wide) with the legend band below it, as PNG bytes."""
    words = WORDS[locale]
    overlay = Image.open(io.BytesIO(overlay_png)).convert("RGB")
    if overlay.width < MIN_WIDTH:
        factor = MIN_WIDTH / overlay.width
        overlay = overlay.resize((MIN_WIDTH, max(1, round(overlay.height * factor))), Image.Resampling.BICUBIC)
    w, h = overlay.size
    clinical = reading.model.clinical
    box = layout(w, h, clinical=clinical)
    band_bottom = (box.mark or box.bar)[3] + (box.bar[3] - box.bar[1]) // 2
    picture = Image.new("RGB", (w, band_bottom), (16, 20, 28))
    picture.paste(overlay, (0, 0))
    draw = ImageDraw.Draw(picture)
    unit = box.bar[3] - box.bar[1]
    font = _font(unit, font_path)
    top = max(reading.findings, key=lambda f: f.score, default=None)
    title = words["title"]
    if top is not None:
        title += (f" · {words['finding']}: {finding_name(top.label, locale)} "
                  f"({words['score']} {top.score:.2f} / {words['threshold']} {top.threshold:.2f})")
    draw.text(box.title[:2], title, font=font, fill=(235, 240, 245))
    x0, y0, x1, y1 = box.bar
    ramp = scale_colours(np.linspace(0.0, 1.0, x1 - x0, dtype=np.float32))
    strip = np.repeat((np.clip(ramp, 0, 1) * 255).astype(np.uint8)[None, :, :], y1 - y0, axis=0)
    picture.paste(Image.fromarray(strip, mode="RGB"), (x0, y0))
    draw.rectangle((x0 - 1, y0 - 1, x1, y1), outline=(200, 200, 200))
    draw.text((x0 - unit // 2, (y0 + y1) // 2), f"{words['low']} 0", font=font, fill=(235, 240, 245), anchor="rm")
    draw.text((x1 + unit // 2, (y0 + y1) // 2), f"1 {words['high']}", font=font, fill=(235, 240, 245), anchor="lm")
    if box.mark is not None:
        draw.rectangle(box.mark, fill=(176, 0, 32))
        draw.text(((box.mark[0] + box.mark[2]) // 2, (box.mark[1] + box.mark[3]) // 2), words["non_clinical"],
                  font=font, fill=(255, 255, 255), anchor="mm")
    out = io.BytesIO()
    picture.save(out, format="PNG", compress_level=3)
    return out.getvalue()
