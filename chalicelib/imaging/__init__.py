"""Medical image stages: decode (DICOM / PNG / JPEG → display-ready grey), de-identify, quality gate.

Every stage is pure (bytes and arrays in, values out) and raises ``ImageRejected`` subclasses,
each a ``PermanentError`` with a specific ``code`` and message.
"""

from chalicelib.imaging.decode import DecodedImage, DecodeLimits, decode_image
from chalicelib.imaging.deid import Deidentified, deidentify_dicom
from chalicelib.imaging.errors import ImageRejected
from chalicelib.imaging.quality import QualityReport, QualityRules, check_quality

__all__ = ["DecodeLimits", "DecodedImage", "Deidentified", "ImageRejected", "QualityReport", "QualityRules",
           "check_quality", "decode_image", "deidentify_dicom"]
