"""The heat map's legend, drawn by the server in Korean: read back with Tesseract OCR (Debian's tesseract-ocr-kor),
which knows nothing of how we drew it; the colour bar sampled against the overlay's own colours."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from dicom_results_support import heatmap_png, settled_study
from PIL import Image, ImageOps

from chalicelib.services.xray.heatmap_legend import MIN_WIDTH, labelled_heatmap, layout
from chalicelib.services.xray.words import FONT_CANDIDATES

pytestmark = pytest.mark.skipif(not any(Path(p).is_file() for p in FONT_CANDIDATES),
                                reason="needs a Korean font (make system-deps installs fonts-nanum)")


def _ocr(picture: Image.Image, box: tuple[int, int, int, int], tmp_path: Path) -> str:
    """Tesseract's reading of one line of the picture (dark text on light, scaled up as OCR prefers)."""
    tool = shutil.which("tesseract")
    if tool is None:
        pytest.skip("tesseract is not installed: run `make system-deps`")
    line = ImageOps.invert(picture.crop(box).convert("L"))
    line = line.resize((line.width * 3, line.height * 3), Image.Resampling.BICUBIC)
    path = tmp_path / "line.png"
    line.save(path)
    done = subprocess.run([tool, str(path), "stdout", "-l", "kor+eng", "--psm", "7"], capture_output=True,
                          text=True, timeout=60, check=True)
    return done.stdout.strip()


def test_the_legend_names_the_finding_in_korean_with_score_threshold_and_the_non_clinical_mark(tmp_path):
    # GIVEN a NON-CLINICAL reading whose top finding is "opacity" (0.91 against 0.50) and its 256 px overlay
    study = settled_study(clinical=False)
    assert study.reading is not None
    # WHEN the server draws the labelled heat map
    picture = Image.open(io.BytesIO(labelled_heatmap(heatmap_png(), study.reading)))
    box = layout(MIN_WIDTH, MIN_WIDTH, clinical=False)
    # THEN the overlay is scaled up for legibility and the legend band lies below it
    assert picture.width == MIN_WIDTH and picture.height > MIN_WIDTH
    # AND OCR reads the title in Korean: the finding's Korean name, its score and threshold
    title = _ocr(picture, box.title, tmp_path)
    assert "히트맵" in title and "폐 음영 증가" in title, title
    assert "0.91" in title and "0.50" in title, title
    # AND the NON-CLINICAL mark, in Korean
    assert box.mark is not None
    mark = _ocr(picture, box.mark, tmp_path)
    assert "비임상" in mark and "아님" in mark, mark


def test_the_colour_bar_runs_from_the_overlays_grey_to_its_yellow_and_a_clinical_model_has_no_mark():
    study = settled_study(clinical=True)
    assert study.reading is not None
    picture = np.asarray(Image.open(io.BytesIO(labelled_heatmap(heatmap_png(), study.reading))).convert("RGB"),
                         dtype=np.int32)
    box = layout(MIN_WIDTH, MIN_WIDTH, clinical=True)
    x0, y0, x1, y1 = box.bar
    row = picture[(y0 + y1) // 2, x0:x1]
    # THEN low heat is the grey the overlay leaves untouched, high heat its saturated red-yellow
    low, high = row[0], row[-1]
    assert abs(low[0] - low[2]) <= 3 and abs(low[1] - low[2]) <= 3, low
    assert high[0] > 180 and high[1] > 180 and high[2] < 80, high
    # AND red and green rise along the bar while blue falls
    assert np.all(np.diff(row[:, 0]) >= -1) and np.all(np.diff(row[:, 1]) >= -1) and np.all(np.diff(row[:, 2]) <= 1)
    # AND without the NON-CLINICAL mark there is no red band: the picture ends below the bar
    assert box.mark is None and picture.shape[0] < y1 + (y1 - y0)
    assert not np.any((picture[MIN_WIDTH:, :, 0] > 150) & (picture[MIN_WIDTH:, :, 1] < 40))
