"""DICOM de-identification by the whole Basic Application Level Confidentiality Profile (PS3.15 Annex E).

The action table is Table E.1-1 as generated from the standard by the ``dicom-anonymizer`` package
(``dicomfields_2026c``: every listed attribute with its X / Z / D / U action or combination); this
module applies it at every depth of every sequence. Around the table:

- private attributes (odd groups) are removed, curves and overlays with them;
- an attribute neither in the table nor in ``SAFE`` (what rendering and reading the image needs) is
  removed: unknown means identifying until shown otherwise;
- compound actions take their most protective permitted form: ``X/Z``, ``X/D``, ``X/Z/D`` remove,
  ``Z/D`` empties (PatientID gets the pseudonym, a permitted dummy), ``X/Z/U*`` sequences are kept
  with their UIDs replaced;
- dates: the one declared option is **removed** (no Retain Longitudinal Temporal Information
  option): a date or time the table or the safe list does not keep is removed or emptied, and one
  that must hold a dummy gets a fixed one that says nothing of the real date;
- UIDs are replaced by ``2.25.<HMAC-SHA256(stage key, uid)>``: the same source UID gives the same
  new UID everywhere it is referenced, and nobody without the key can recompute the mapping.

Burned-in annotation: a study whose ``BurnedInAnnotation`` is YES, or absent on a modality that
habitually burns text into pixels, is withheld (no copy is produced) and must be reviewed.
"""

from __future__ import annotations

import hashlib
import hmac
import io
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.tag import BaseTag
from pydicom.uid import UID

METHOD = "PS3.15 E.1-1 Basic Profile; dates removed"  # LO: ≤ 64 characters
PROFILE_CODE = ("113100", "DCM", "Basic Application Confidentiality Profile")
TABLE_VERSION = "dicomfields_2026c"
DATES_OPTION = "removed"
# Modalities whose images habitually carry burned-in text (ultrasound, endoscopy, photographs,
# secondary captures, other): without an explicit BurnedInAnnotation=NO they are withheld.
BURNS_IN = frozenset({"US", "ES", "XC", "SC", "OT", "GM", "SM", "DOC"})
_DUMMY_BY_VR: dict[str, Any] = {"DA": "19000101", "TM": "000000", "DT": "19000101000000", "AS": "000Y",
                                "CS": "ANONYMIZED", "IS": "0", "DS": "0", "US": 0, "SS": 0, "UL": 0, "SL": 0,
                                "FL": 0.0, "FD": 0.0, "UV": 0, "SV": 0, "AT": 0}

# What the image needs to be displayed and read, and carries no identity (not in Table E.1-1).
SAFE = frozenset({
    "SpecificCharacterSet", "ImageType", "SOPClassUID", "Modality", "ConversionType", "BodyPartExamined",
    "ViewPosition", "PatientOrientation", "Laterality", "ImageLaterality", "SeriesNumber", "InstanceNumber",
    "AcquisitionNumber", "Manufacturer", "ManufacturerModelName", "PresentationIntentType",
    "SamplesPerPixel", "PhotometricInterpretation", "PlanarConfiguration", "NumberOfFrames", "Rows", "Columns",
    "PixelSpacing", "ImagerPixelSpacing", "PixelAspectRatio", "BitsAllocated", "BitsStored", "HighBit",
    "PixelRepresentation", "SmallestImagePixelValue", "LargestImagePixelValue", "PixelPaddingValue",
    "PixelPaddingRangeLimit", "PixelData", "FloatPixelData", "DoubleFloatPixelData", "ExtendedOffsetTable",
    "ExtendedOffsetTableLengths", "RescaleIntercept", "RescaleSlope", "RescaleType", "WindowCenter", "WindowWidth",
    "VOILUTFunction", "VOILUTSequence", "ModalityLUTSequence", "LUTDescriptor", "LUTData", "ModalityLUTType",
    "PresentationLUTShape", "PixelIntensityRelationship", "PixelIntensityRelationshipSign",
    "LossyImageCompression", "LossyImageCompressionRatio", "LossyImageCompressionMethod", "BurnedInAnnotation",
    "RecognizableVisualFeatures", "KVP", "ExposureTime", "XRayTubeCurrent", "Exposure", "ExposureInuAs",
    "DistanceSourceToDetector", "DistanceSourceToPatient", "EstimatedRadiographicMagnificationFactor", "Grid",
    "FocalSpots", "FieldOfViewShape", "FieldOfViewDimensions", "ExposureIndex", "TargetExposureIndex",
    "DeviationIndex", "AnatomicRegionSequence", "ViewCodeSequence", "CodeValue", "CodingSchemeDesignator",
    "CodingSchemeVersion", "CodeMeaning", "ReferencedSOPClassUID", "ReferencedFrameNumber",
    "PatientIdentityRemoved", "DeidentificationMethod", "DeidentificationMethodCodeSequence",
    "LongitudinalTemporalInformationModified",
})


@dataclass(frozen=True)
class Deidentified:
    """``data`` is the de-identified file, or None when the study is withheld (``withheld`` says why)."""

    data: bytes | None
    removed: tuple[str, ...]
    burned_in_annotation: bool
    withheld: str | None = None


@dataclass(frozen=True)
class _Table:
    exact: dict[int, str]
    masked: tuple[tuple[int, int, int, int, str], ...]  # group, element, group mask, element mask, action

    def action(self, tag: BaseTag) -> str | None:
        found = self.exact.get(int(tag))
        if found is not None:
            return found
        for group, element, gmask, emask, action in self.masked:
            if tag.group & gmask == group & gmask and tag.element & emask == element & emask:
                return action
        return None


_CATEGORIES = {"D_TAGS": "D", "Z_TAGS": "Z", "X_TAGS": "X", "U_TAGS": "U", "Z_D_TAGS": "Z/D", "X_Z_TAGS": "X/Z",
               "X_D_TAGS": "X/D", "X_Z_D_TAGS": "X/Z/D", "X_Z_U_STAR_TAGS": "X/Z/U*"}


@cache
def profile_table() -> _Table:
    """Table E.1-1 as the package generated it from the standard: tag → action."""
    from dicomanonymizer.dicomfields_selector import dicom_anonymization_database_selector

    categories = dicom_anonymization_database_selector(TABLE_VERSION)
    exact: dict[int, str] = {}
    masked: list[tuple[int, int, int, int, str]] = []
    for category, action in _CATEGORIES.items():
        for entry in categories[category]:
            if len(entry) == 2:
                exact[(entry[0] << 16) | entry[1]] = action
            else:
                masked.append((entry[0], entry[1], entry[2], entry[3], action))
    return _Table(exact=exact, masked=tuple(masked))


def burned_in_risk(dataset: Dataset) -> str | None:
    """Why the pixels may carry identity (then no de-identified copy may be released), or None."""
    flag = str(dataset.get("BurnedInAnnotation", "") or "").strip().upper()
    modality = str(dataset.get("Modality", "") or "").strip().upper()
    if flag == "YES":
        return "BurnedInAnnotation is YES: the pixels carry identifying text"
    if not flag and modality in BURNS_IN:
        return f"BurnedInAnnotation is absent and modality {modality} habitually burns text into pixels"
    return None


def deidentify_dicom(dataset: Dataset, *, uid_salt: str, pseudonym: str | None = None) -> Deidentified:
    """A de-identified copy of ``dataset`` (the original is not modified), encoded as a DICOM file.

    ``pseudonym`` (e.g. the study id) becomes PatientID; ``uid_salt`` is the stage's secret key that
    derives the new UIDs. A study at risk of burned-in identity is withheld: ``data`` is None.
    """
    risk = burned_in_risk(dataset)
    burned = risk is not None
    if risk is not None:
        return Deidentified(data=None, removed=(), burned_in_annotation=burned, withheld=risk)
    ds = _copy(dataset)
    removed: list[str] = []
    _Cleaner(profile_table(), uid_salt.encode(), pseudonym or "ANONYMIZED", removed).clean(ds)
    ds.PatientIdentityRemoved = "YES"
    ds.DeidentificationMethod = METHOD
    code = Dataset()
    code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = PROFILE_CODE
    ds.DeidentificationMethodCodeSequence = Sequence([code])
    ds.LongitudinalTemporalInformationModified = "REMOVED"
    ds.file_meta = _file_meta(dataset, ds)
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return Deidentified(data=buffer.getvalue(), removed=tuple(sorted(set(removed))), burned_in_annotation=burned)


def new_uid(value: str, key: bytes) -> str:
    """The replacement of one UID: stable for a key, not recomputable without it (≤ 64 characters)."""
    digest = hmac.new(key, value.strip().encode(), hashlib.sha256).digest()
    return f"2.25.{int.from_bytes(digest[:16], 'big')}"


class _Cleaner:
    def __init__(self, table: _Table, key: bytes, pseudonym: str, removed: list[str]) -> None:
        self._table = table
        self._key = key
        self._pseudonym = pseudonym
        self._removed = removed

    def clean(self, ds: Dataset) -> None:
        for element in list(ds):
            self._element(ds, element)

    def _element(self, ds: Dataset, element: DataElement) -> None:
        tag = element.tag
        name = element.keyword or str(tag)
        action = None if tag.is_private else self._table.action(tag)
        if action is None:
            if tag.is_private or name not in SAFE:
                del ds[tag]
                self._removed.append(f"private {tag}" if tag.is_private else name)
            elif element.VR == "SQ":
                self._items(element)
            return
        if action.startswith("X") and action != "X/Z/U*":
            del ds[tag]
            self._removed.append(name)
        elif action in ("Z", "Z/D"):
            if element.keyword == "PatientID":
                element.value = self._pseudonym
            else:
                element.value = Sequence() if element.VR == "SQ" else None
        elif action == "U":
            element.value = self._uids(element.value)
        elif element.VR == "SQ":  # D (a dummy sequence: its items cleaned) or X/Z/U* (UIDs replaced)
            self._items(element)
        elif element.VR == "UI":
            element.value = self._uids(element.value)
        else:
            element.value = _DUMMY_BY_VR.get(element.VR, "ANONYMIZED" if element.VR not in ("OB", "OW", "UN") else b"")

    def _items(self, element: DataElement) -> None:
        for item in element.value:
            self.clean(item)

    def _uids(self, value: Any) -> Any:
        if not value:
            return value
        if isinstance(value, str):
            return new_uid(value, self._key)
        return [new_uid(str(v), self._key) for v in value]


def _copy(dataset: Dataset) -> Dataset:
    import pydicom

    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    buffer.seek(0)
    return pydicom.dcmread(buffer)


def _file_meta(original: Dataset, ds: Dataset) -> FileMetaDataset:
    """A fresh file meta group: only the transfer syntax and the (new) SOP identity survive."""
    meta = FileMetaDataset()
    source = getattr(original, "file_meta", None)
    syntax = source.get("TransferSyntaxUID") if source is not None else None
    meta.TransferSyntaxUID = UID(syntax or "1.2.840.10008.1.2.1")
    if "SOPClassUID" in ds:
        meta.MediaStorageSOPClassUID = ds.SOPClassUID
    if "SOPInstanceUID" in ds:
        meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    return meta


def walk(ds: Dataset) -> Iterator[DataElement]:
    """Every element at every depth (for checks and tests)."""
    for element in ds:
        yield element
        if element.VR == "SQ":
            for item in element.value:
                yield from walk(item)
