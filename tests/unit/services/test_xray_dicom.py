"""The reading as DICOM SR + Secondary Capture: valid per dicom3tools' dciodvfy, readable by pydicom, and
carrying what the reading says."""

from __future__ import annotations

import io
from pathlib import Path

import pydicom
from dicom_results_support import dataset_bytes, dciodvfy, deidentified_source, heatmap_png, settled_study
from pydicom.sr.codedict import codes

from chalicelib.services.xray.dicom import PRIVATE_SCHEME, heatmap_capture, structured_report


def _items(dataset: pydicom.Dataset) -> list[pydicom.Dataset]:
    """Every content item of an SR tree, depth first."""
    found = []
    for item in dataset.get("ContentSequence", []):
        found.append(item)
        found.extend(_items(item))
    return found


def test_sr_is_valid_per_dciodvfy_and_references_the_deidentified_source(tmp_path: Path) -> None:
    # GIVEN a settled study and its de-identified DICOM source
    source = pydicom.dcmread(io.BytesIO(deidentified_source()))
    study = settled_study()
    # WHEN the SR is built and written
    data = dataset_bytes(structured_report(study, source))
    # THEN the independent validator reports no error
    errors, output = dciodvfy(data, tmp_path)
    assert not errors, output
    # AND pydicom reads it back in the source's study, referencing the source instance
    sr = pydicom.dcmread(io.BytesIO(data))
    assert sr.Modality == "SR"
    assert sr.StudyInstanceUID == source.StudyInstanceUID
    assert sr.PatientID == source.PatientID
    evidence = sr.CurrentRequestedProcedureEvidenceSequence[0].ReferencedSeriesSequence[0]
    assert evidence.ReferencedSOPSequence[0].ReferencedSOPInstanceUID == source.SOPInstanceUID
    assert "NON-CLINICAL" in sr.SeriesDescription
    assert sr.VerificationFlag == "UNVERIFIED"


def test_sr_carries_codes_scores_thresholds_decisions_triage_model_and_non_clinical_flag() -> None:
    # GIVEN a reading with three findings (two with standard codes)
    source = pydicom.dcmread(io.BytesIO(deidentified_source()))
    study = settled_study()
    assert study.reading is not None
    # WHEN its SR's content tree is read back
    items = _items(pydicom.dcmread(io.BytesIO(dataset_bytes(structured_report(study, source)))))
    numbers = [(i.ConceptNameCodeSequence[0].CodeValue, float(i.MeasuredValueSequence[0].NumericValue))
               for i in items if i.ValueType == "NUM"]
    coded = [(i.ConceptNameCodeSequence[0].CodingSchemeDesignator, i.ConceptNameCodeSequence[0].CodeValue,
              i.ConceptCodeSequence[0].CodeValue) for i in items if i.ValueType == "CODE"]
    texts = {i.TextValue for i in items if i.ValueType == "TEXT"}
    # THEN every score and threshold is there
    for finding in study.reading.findings:
        assert ("score", round(finding.score, 6)) in [(n, round(v, 6)) for n, v in numbers]
        assert ("threshold", finding.threshold) in numbers
    # AND opacity and cardiac silhouette carry DICOM / SNOMED CT codes with their decisions
    assert ("DCM", codes.DCM.AbnormalOpacity.value, codes.SCT.Present.value) in coded
    assert ("SCT", codes.SCT.Cardiomegaly.value, codes.SCT.Present.value) in coded
    assert (PRIVATE_SCHEME, "asymmetry", codes.SCT.Absent.value) in coded
    # AND triage, the NON-CLINICAL flag and the model's name and version
    assert (PRIVATE_SCHEME, "triage", "urgent") in coded
    assert (PRIVATE_SCHEME, "clinical-use", "non-clinical") in coded
    assert {"gt-reference-cxr", "1.0.0"} <= texts


def test_sr_uids_are_stable_per_reading() -> None:
    # GIVEN the same reading built twice, and a later reading of another study
    source = pydicom.dcmread(io.BytesIO(deidentified_source()))
    first = structured_report(settled_study(), source)
    again = structured_report(settled_study(), source)
    other = structured_report(settled_study("st-2"), source)
    # THEN the same reading always has the same SOP Instance UID (a PACS recognises a re-delivery)
    assert first.SOPInstanceUID == again.SOPInstanceUID
    assert other.SOPInstanceUID != first.SOPInstanceUID


def test_heatmap_secondary_capture_is_valid_and_in_the_source_study(tmp_path: Path) -> None:
    # GIVEN the heat-map overlay of a reading
    source = pydicom.dcmread(io.BytesIO(deidentified_source()))
    png = heatmap_png()
    # WHEN it is made a Secondary Capture
    data = dataset_bytes(heatmap_capture(settled_study(), source, png))
    # THEN dciodvfy reports no error and pydicom reads back the overlay's pixels in the source's study
    errors, output = dciodvfy(data, tmp_path)
    assert not errors, output
    sc = pydicom.dcmread(io.BytesIO(data))
    assert sc.SOPClassUID == "1.2.840.10008.5.1.4.1.1.7"
    assert sc.StudyInstanceUID == source.StudyInstanceUID
    assert sc.PhotometricInterpretation == "RGB"
    import numpy as np
    from PIL import Image
    expected = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    assert np.array_equal(sc.pixel_array, expected)


def test_sr_and_capture_of_a_real_radiograph_are_valid(tmp_path: Path) -> None:
    # GIVEN a real chest DICOM from ../shared, de-identified as the reader does it
    from xray_support import dicom_path

    from chalicelib.imaging.deid import deidentify_dicom
    deid = deidentify_dicom(pydicom.dcmread(dicom_path()), uid_salt="test-salt", pseudonym="st-real")
    assert deid.data is not None
    source = pydicom.dcmread(io.BytesIO(deid.data))
    # WHEN its SR and heat-map capture are built
    for built in (structured_report(settled_study(), source), heatmap_capture(settled_study(), source, heatmap_png())):
        # THEN the validator reports no error for either
        errors, output = dciodvfy(dataset_bytes(built), tmp_path)
        assert not errors, output


def test_results_under_the_original_uids_file_into_the_source_study_and_stay_valid(tmp_path: Path) -> None:
    from xray_support import dicom_bytes

    from chalicelib.imaging.deid import deidentify_dicom
    from chalicelib.services.xray.dicom import with_original_uids
    from local.xray_samples import synthetic_chest

    # GIVEN an image as the center's PACS holds it, and its de-identified copy (other UIDs, no patient)
    original = pydicom.dcmread(io.BytesIO(dicom_bytes(synthetic_chest(256, seed=9))))
    deid_data = deidentify_dicom(original, uid_salt="test-salt", pseudonym="study-9").data
    assert deid_data is not None
    deid = pydicom.dcmread(io.BytesIO(deid_data))
    assert deid.StudyInstanceUID != original.StudyInstanceUID
    study = settled_study()
    # WHEN the center opted in to its original UIDs
    source = with_original_uids(deid, original)
    sr = structured_report(study, source, variant="original")
    capture = heatmap_capture(study, source, heatmap_png(), variant="original")
    # THEN both objects are valid, in the original study, the SR referencing the original instance
    for dataset in (sr, capture):
        errors, output = dciodvfy(dataset_bytes(dataset), tmp_path)
        assert not errors, output
        assert dataset.StudyInstanceUID == original.StudyInstanceUID
    evidence = sr.CurrentRequestedProcedureEvidenceSequence[0].ReferencedSeriesSequence[0]
    assert evidence.SeriesInstanceUID == original.SeriesInstanceUID
    assert evidence.ReferencedSOPSequence[0].ReferencedSOPInstanceUID == original.SOPInstanceUID
    # AND the patient stays the pseudonym; the instances differ from the de-identified variant's
    assert sr.PatientID == deid.PatientID != original.PatientID
    assert str(sr.PatientName) != str(original.PatientName)
    assert sr.SOPInstanceUID != structured_report(study, deid).SOPInstanceUID
