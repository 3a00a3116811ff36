"""Quality gate: is this a plausible frontal chest radiograph? Simple, explainable statistics.

Checks, in order, each with its own rejection code and a message that gives the measured value:

- size: the shorter original side must be at least ``min_side`` pixels;
- colour photo: Hasler–Süsstrunk colourfulness of the RGB source above ``max_colourfulness``
  (greyscale radiographs saved as RGB measure ~0);
- blank: almost no contrast (standard deviation, or the 1st–99th percentile spread);
- header: a DICOM ``ViewPosition`` naming a lateral view, or a ``BodyPartExamined`` that is not
  the chest (lateral views are detected from the header only);
- polarity: on a frontal chest film the mediastinum (central band) is brighter than the lung
  fields beside it, and the abdomen below the diaphragm brighter than the upper lung zones. Both
  contrasts change sign when the image is inverted, so their sum below ``-polarity_margin`` means
  "inverted" (real films measure +0.3 … +0.9 here).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chalicelib.imaging.decode import DecodedImage
from chalicelib.imaging.errors import BlankImage, ColourPhoto, ImageTooSmall, InvertedImage, NotFrontalChest

_LATERAL = {"LL", "RL", "LAT", "LATERAL", "LLD", "RLD", "LLO", "RLO"}
_CHEST = {"CHEST", "THORAX", "LUNG", "CHEST_LAT", "TORSO"}


@dataclass(frozen=True)
class QualityRules:
    min_side: int = 256
    max_colourfulness: float = 15.0
    min_std: float = 0.03
    min_spread: float = 0.08
    polarity_margin: float = 0.05


@dataclass(frozen=True)
class QualityReport:
    std: float
    spread: float
    central_minus_lungs: float
    lower_minus_upper: float

    @property
    def polarity(self) -> float:
        return self.central_minus_lungs + self.lower_minus_upper


def measure(pixels: np.ndarray) -> QualityReport:
    small = pixels[:: max(1, pixels.shape[0] // 256), :: max(1, pixels.shape[1] // 256)]
    h, w = small.shape
    p1, p99 = np.percentile(small, (1, 99))
    band = slice(int(0.3 * h), int(0.7 * h))
    central = float(small[band, int(0.45 * w):int(0.55 * w)].mean())
    lungs = float((small[band, int(0.2 * w):int(0.35 * w)].mean() + small[band, int(0.65 * w):int(0.8 * w)].mean()) / 2)
    upper = float(small[int(0.25 * h):int(0.45 * h), int(0.2 * w):int(0.8 * w)].mean())
    lower = float(small[int(0.88 * h):, int(0.2 * w):int(0.8 * w)].mean())
    return QualityReport(std=float(small.std()), spread=float(p99 - p1), central_minus_lungs=central - lungs,
                         lower_minus_upper=lower - upper)


def check_quality(image: DecodedImage, rules: QualityRules | None = None) -> QualityReport:
    """The measurements when the image passes; an ``ImageRejected`` subclass with its reason otherwise."""
    rules = rules or QualityRules()
    if image.min_side < rules.min_side:
        raise ImageTooSmall(f"image is {image.width}×{image.height}; each side must be at least {rules.min_side} px")
    if image.colourfulness > rules.max_colourfulness:
        raise ColourPhoto(f"colour photograph, not a radiograph (colourfulness {image.colourfulness:.1f} > "
                          f"{rules.max_colourfulness:.0f})")
    report = measure(image.pixels)
    if report.std < rules.min_std or report.spread < rules.min_spread:
        raise BlankImage(f"blank or nearly uniform image (std {report.std:.3f}, 1–99% spread {report.spread:.3f})")
    if image.view_position in _LATERAL:
        raise NotFrontalChest(f"lateral view (ViewPosition {image.view_position}); a frontal PA/AP chest film is needed")
    if image.body_part and image.body_part not in _CHEST:
        raise NotFrontalChest(f"body part examined is {image.body_part}, not the chest")
    if report.polarity < -rules.polarity_margin:
        raise InvertedImage(f"polarity looks inverted: mediastinum darker than the lungs "
                            f"({report.central_minus_lungs:+.2f}) and abdomen darker than the upper lungs "
                            f"({report.lower_minus_upper:+.2f})")
    return report
