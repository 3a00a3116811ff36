"""A reading as DICOM objects a health center's PACS stores beside the image.

``structured_report`` builds a TID 1500 Imaging Measurement Report (highdicom): one measurement group per
finding, coded with SNOMED CT / DICOM codes where the standard has one (the project's private ``99GOLDTIME``
scheme otherwise), with the score, its threshold, the decision, the triage, the model's name and version
and the NON-CLINICAL flag; it references the source image by the de-identified copy's UIDs.
``heatmap_capture`` makes the heat-map overlay a Secondary Capture image in the same study.

UIDs are derived from the study, the reading and the object kind, so building twice gives the same SOP
Instance UIDs: a PACS that receives a result again recognises it (re-delivery is never a second object).
Pure: datasets in, datasets out.
"""

from __future__ import annotations

import copy
import io

import highdicom as hd
import numpy as np
from PIL import Image
from pydicom import Dataset
from pydicom.sr.codedict import codes
from pydicom.uid import generate_uid

from chalicelib.models.xray import Reading, Study

MANUFACTURER = "Golden Time"
PRIVATE_SCHEME = "99GOLDTIME"  # a private coding scheme designator starts with "99" (PS3.3 8.2)
SR_SERIES_NUMBER = 9901
SC_SERIES_NUMBER = 9902

# Standard codes (from pydicom's DICOM-derived code dictionary) for the labels models report; anything else is
# coded in the private scheme under its own label.
_STANDARD_FINDINGS: dict[str, hd.sr.CodedConcept] = {
    "opacity": hd.sr.CodedConcept.from_code(codes.DCM.AbnormalOpacity),
    "lung_opacity": hd.sr.CodedConcept.from_code(codes.DCM.AbnormalOpacity),
    "cardiac_silhouette": hd.sr.CodedConcept.from_code(codes.SCT.Cardiomegaly),
    "cardiomegaly": hd.sr.CodedConcept.from_code(codes.SCT.Cardiomegaly),
}
_SCORE = hd.sr.CodedConcept("score", PRIVATE_SCHEME, "AI score")
_THRESHOLD = hd.sr.CodedConcept("threshold", PRIVATE_SCHEME, "Decision threshold")
_TRIAGE = hd.sr.CodedConcept("triage", PRIVATE_SCHEME, "Triage")
_CLINICAL_USE = hd.sr.CodedConcept("clinical-use", PRIVATE_SCHEME, "Clinical use")
_NON_CLINICAL = hd.sr.CodedConcept("non-clinical", PRIVATE_SCHEME, "NON-CLINICAL: never use for diagnosis")
_CLINICAL = hd.sr.CodedConcept("clinical", PRIVATE_SCHEME, "Clinically validated model")
_NO_UNITS = hd.sr.CodedConcept("1", "UCUM", "no units")


def finding_code(label: str) -> hd.sr.CodedConcept:
    """The standard code of a model's label when one exists, else the label in the private scheme."""
    return _STANDARD_FINDINGS.get(label) or hd.sr.CodedConcept(label[:16], PRIVATE_SCHEME, label.replace("_", " "))


def result_uid(study: Study, kind: str, variant: str = "") -> str:
    """A stable UID per (study, reading, object kind, UID variant): the same result always carries the same UID;
    results filed under the original UIDs (``variant="original"``) are other instances than the de-identified ones."""
    reading = study.reading
    stamp = str(reading.completed_ms) if reading else ""
    return str(generate_uid(entropy_srcs=[study.study_id, stamp, kind, *([variant] if variant else [])]))


def _triage_value(reading: Reading) -> hd.sr.CodedConcept:
    return hd.sr.CodedConcept(reading.triage.value, PRIVATE_SCHEME, reading.triage.value.capitalize())


def structured_report(study: Study, source: Dataset, *, variant: str = "") -> hd.sr.Comprehensive3DSR:
    """The reading of ``study`` as a TID 1500 report referencing ``source`` (the de-identified image, or it under
    its original UIDs: ``with_original_uids``)."""
    reading = study.reading
    if reading is None:
        raise ValueError(f"study {study.study_id} has no reading")
    source = with_type2_study_attributes(source)
    algorithm = hd.sr.AlgorithmIdentification(name=reading.model.name[:64], version=reading.model.version[:64])
    use = _CLINICAL if reading.model.clinical else _NON_CLINICAL
    groups = [
        hd.sr.MeasurementsAndQualitativeEvaluations(
            tracking_identifier=hd.sr.TrackingIdentifier(uid=result_uid(study, f"finding-{finding.label}", variant),
                                                         identifier=finding.label[:64]),
            finding_type=finding_code(finding.label),
            algorithm_id=algorithm,
            source_images=[hd.sr.SourceImageForMeasurementGroup.from_source_image(source)],
            measurements=[
                hd.sr.Measurement(name=_SCORE, value=finding.score, unit=_NO_UNITS, algorithm_id=algorithm),
                hd.sr.Measurement(name=_THRESHOLD, value=finding.threshold, unit=_NO_UNITS),
            ],
            qualitative_evaluations=[
                hd.sr.QualitativeEvaluation(name=finding_code(finding.label),
                                            value=codes.SCT.Present if finding.positive else codes.SCT.Absent),
                hd.sr.QualitativeEvaluation(name=_TRIAGE, value=_triage_value(reading)),
                hd.sr.QualitativeEvaluation(name=_CLINICAL_USE, value=use),
            ],
        )
        for finding in reading.findings
    ]
    report = hd.sr.MeasurementReport(
        observation_context=hd.sr.ObservationContext(
            observer_device_context=hd.sr.ObserverContext(
                observer_type=codes.DCM.Device,
                observer_identifying_attributes=hd.sr.DeviceObserverIdentifyingAttributes(
                    uid=result_uid(study, "device", variant), name=reading.model.name[:64], manufacturer_name=MANUFACTURER,
                    model_name=f"{reading.model.name} {reading.model.version}"[:64]))),
        procedure_reported=codes.SCT.ChestImaging,
        imaging_measurements=groups,
        # highdicom's image-library entry of a radiograph needs its orientation and imager pixel spacing;
        # images without them (de-identified PNG-born or sparse CR) are referenced by the groups and evidence
        referenced_images=[source] if _has_projection_geometry(source) else None,
    )
    prefix = "" if reading.model.clinical else "NON-CLINICAL "
    return hd.sr.Comprehensive3DSR(
        evidence=[source], content=report,
        series_instance_uid=result_uid(study, "sr-series", variant), series_number=SR_SERIES_NUMBER,
        sop_instance_uid=result_uid(study, "sr", variant), instance_number=1, manufacturer=MANUFACTURER,
        is_complete=True, is_final=False, is_verified=False,  # a machine reading, never verified by a person
        series_description=f"{prefix}AI reading {reading.model.name} {reading.model.version}"[:64],
    )


def heatmap_capture(study: Study, source: Dataset, overlay_png: bytes, *, variant: str = "") -> hd.sc.SCImage:
    """The heat-map overlay (RGB PNG of the image with the map blended in) as a Secondary Capture image in
    the source's study, so any viewer shows it beside, or hung over, the radiograph."""
    reading = study.reading
    if reading is None:
        raise ValueError(f"study {study.study_id} has no reading")
    source = with_type2_study_attributes(source)
    rgb = np.asarray(Image.open(io.BytesIO(overlay_png)).convert("RGB"), dtype=np.uint8)
    prefix = "" if reading.model.clinical else "NON-CLINICAL "
    capture = hd.sc.SCImage.from_ref_dataset(
        ref_dataset=source, pixel_array=rgb, photometric_interpretation="RGB", bits_allocated=8,
        coordinate_system="PATIENT", series_instance_uid=result_uid(study, "sc-series", variant),
        series_number=SC_SERIES_NUMBER, sop_instance_uid=result_uid(study, "sc", variant), instance_number=1,
        manufacturer=MANUFACTURER, patient_orientation=_orientation(source),
        series_description=f"{prefix}AI heat map {reading.model.name} {reading.model.version}"[:64],
        transfer_syntax_uid="1.2.840.10008.1.2.1",
    )
    if "Laterality" not in capture:  # type 2: present and empty for an unpaired part (the chest)
        capture.Laterality = source.get("Laterality", None)
    return capture


# Patient and study attributes of Type 2 (present, may be empty) that result objects copy from their source;
# de-identification removes some of them entirely.
_TYPE2_COPIED = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyDate", "StudyTime",
                 "ReferringPhysicianName", "StudyID", "AccessionNumber")


def with_type2_study_attributes(source: Dataset) -> Dataset:
    """A copy of ``source`` with each copied Type 2 attribute present (empty where it was removed)."""
    reference = copy.deepcopy(source)
    for keyword in _TYPE2_COPIED:
        if keyword not in reference:
            setattr(reference, keyword, None)
    return reference


def _has_projection_geometry(source: Dataset) -> bool:
    return len(source.get("PatientOrientation") or ()) == 2 and len(source.get("ImagerPixelSpacing") or ()) == 2


def _orientation(source: Dataset) -> tuple[str, str]:
    value = source.get("PatientOrientation")
    if value is not None and len(value) == 2:
        return str(value[0]), str(value[1])
    return "L", "F"  # a PA chest radiograph shown as read: patient's left on the right, feet down


_SOURCE_UIDS = ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "SOPClassUID")


def with_original_uids(deidentified: Dataset, original: Dataset) -> Dataset:
    """The de-identified image under the original's Study, Series and SOP Instance UIDs: results built on it file
    into the center's own study and reference its image. Only UIDs are taken over; the patient stays pseudonymous."""
    source = copy.deepcopy(deidentified)
    for keyword in _SOURCE_UIDS:
        if keyword in original:
            setattr(source, keyword, original[keyword].value)
    if "FrameOfReferenceUID" in original:
        source.FrameOfReferenceUID = original.FrameOfReferenceUID
    return source
