"""DICOM de-identification by the whole PS3.15 Annex E Basic Application Level Confidentiality Profile."""

from __future__ import annotations

import hashlib
import hmac
import io

import numpy as np
import pydicom
import pytest
from pydicom.datadict import dictionary_VR
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from xray_support import dicom_bytes, dicom_path, synthetic_chest

from chalicelib.imaging import decode_image, deidentify_dicom
from chalicelib.imaging.deid import walk

# Identifying attributes of Table E.1-1 (and the leaks found by hand), each given a unique marker value.
IDENTIFYING = [
    "PatientName", "PatientID", "PatientBirthDate", "PatientBirthTime", "PatientAge", "PatientAddress",
    "PatientTelephoneNumbers", "PatientTelecomInformation", "PatientMotherBirthName", "OtherPatientNames",
    "PatientBirthDateInAlternativeCalendar", "PatientComments", "EthnicGroup", "Occupation",
    "AdditionalPatientHistory", "MedicalRecordLocator", "ResponsiblePerson", "StudyDate", "StudyTime",
    "AccessionNumber", "StudyID", "StudyDescription", "StudyComments", "ReferringPhysicianName",
    "ReferringPhysicianAddress", "ReferringPhysicianTelephoneNumbers", "ConsultingPhysicianName",
    "PhysiciansOfRecord", "NameOfPhysiciansReadingStudy", "RequestingPhysician", "RequestingService",
    "PerformingPhysicianName", "OperatorsName", "InstitutionName", "InstitutionAddress",
    "InstitutionalDepartmentName", "StationName", "StationAETitle", "DeviceSerialNumber", "PerformedLocation",
    "ScheduledPerformingPhysicianName", "ReviewerName", "AdmissionID", "ImageComments", "SeriesDescription",
    "ProtocolName", "DateOfLastCalibration", "DateOfSecondaryCapture", "DateOfLastDetectorCalibration",
    "AcquisitionDate", "ContentDate", "SeriesDate", "InstanceCreationDate", "AcquisitionDateTime", "PersonName",
    "PersonAddress", "PersonTelephoneNumbers", "CurrentPatientLocation", "PlateID", "DetectorID", "Allergies",
    "MedicalAlerts", "CountryOfResidence", "RegionOfResidence", "MilitaryRank", "BranchOfService",
]


def _marker(keyword: str, index: int, depth: int) -> str:
    """A value of the keyword's VR that no de-identified file could contain by chance."""
    vr = dictionary_VR(keyword)
    tag = f"{index:02d}{depth}"
    if vr == "DA":
        return f"1987{tag[:2]}1{depth}"
    if vr == "TM":
        return f"1{depth}{tag[:2]}17"
    if vr == "DT":
        return f"1987{tag[:2]}1{depth}101517"
    if vr == "AS":
        return f"{tag}Y"[-4:]
    if vr == "PN":
        return f"Leak{tag}^Kim"
    if vr == "AE":
        return f"LEAKAE{tag}"
    return f"LEAK{tag}"


def _fill(item: Dataset, depth: int) -> dict[str, str]:
    values = {}
    for index, keyword in enumerate(IDENTIFYING):
        value = _marker(keyword, index, depth)
        setattr(item, keyword, value)
        values[keyword] = value
    return values


@pytest.fixture
def original():
    return pydicom.dcmread(dicom_path())


@pytest.mark.shared
def test_every_identifying_attribute_goes_at_the_top_and_two_sequences_deep(original):
    # GIVEN the real radiograph with 66 identifying attributes at the top level
    assert len(IDENTIFYING) >= 40
    markers = list(_fill(original, 0).values())
    source_uid, study_uid = str(original.SOPInstanceUID), str(original.StudyInstanceUID)
    # AND the same attributes two sequences deep, in sequences the profile keeps (UIDs replaced: X/Z/U*) and in
    # sequences our safe list keeps, with references to the image's own UIDs
    inner = Dataset()
    inner.ReferencedSOPClassUID = original.SOPClassUID
    inner.ReferencedSOPInstanceUID = source_uid
    inner.StudyInstanceUID = study_uid
    markers += _fill(inner, 2).values()
    outer = Dataset()
    outer.ReferencedSOPInstanceUID = source_uid
    outer.SourceImageSequence = Sequence([inner])
    original.ReferencedImageSequence = Sequence([outer])
    code_inner = Dataset()
    code_inner.CodeValue, code_inner.CodingSchemeDesignator, code_inner.CodeMeaning = "T-D3000", "SRT", "Chest"
    markers += _fill(code_inner, 3).values()
    code_outer = Dataset()
    code_outer.CodeValue, code_outer.CodingSchemeDesignator, code_outer.CodeMeaning = "R-10214", "SRT", "PA"
    code_outer.AnatomicRegionSequence = Sequence([code_inner])
    original.ViewCodeSequence = Sequence([code_outer])
    # AND identity inside sequences the profile removes, a private block, an unknown attribute and an overlay
    person = Dataset()
    person.PersonAddress, person.PersonTelephoneNumbers = "LEAKADDR1 Jongno-gu", "LEAKTEL010-1234"
    original.ReferringPhysicianIdentificationSequence = Sequence([person])
    institution = Dataset()
    institution.CodeValue, institution.CodeMeaning = "LEAKINST", "Jongno Clinic LEAKINST"
    original.InstitutionCodeSequence = Sequence([institution])
    original.private_block(0x0011, "ACME IMAGING", create=True).add_new(0x01, "LO", "LEAKPRIVATE 010-9999")
    original.add_new(0x00181201, "TM", "101599")  # TimeOfLastCalibration
    original.add_new(0x60004000, "LT", "LEAKOVERLAY patient Kim")
    markers += ["LEAKADDR1", "LEAKTEL010", "LEAKINST", "LEAKPRIVATE", "101599", "LEAKOVERLAY"]

    # WHEN de-identified
    result = deidentify_dicom(original, uid_salt="k" * 64, pseudonym="xr-0123456789abcdef")
    assert result.data is not None
    clean = pydicom.dcmread(io.BytesIO(result.data))

    # THEN no marker survives anywhere in the file, at any depth
    for marker in markers:
        assert marker.encode() not in result.data, marker
    texts = [str(element.value) for element in walk(clean) if element.VR != "SQ" and element.keyword != "PixelData"]
    assert not [t for t in texts for m in markers if m in t]
    # AND each listed attribute is removed, emptied or replaced, at the top and two deep
    inner_clean = clean.ReferencedImageSequence[0].SourceImageSequence[0]
    region_clean = clean.ViewCodeSequence[0].AnatomicRegionSequence[0]
    for item in (clean, inner_clean, region_clean):
        for keyword in IDENTIFYING:
            if keyword in item and item[keyword].value:
                assert keyword in {"PatientID", "PersonName"}, keyword  # the only D / Z-D of the list
    assert clean.PatientID == "xr-0123456789abcdef"
    assert "InstitutionCodeSequence" not in clean
    assert "ReferringPhysicianIdentificationSequence" not in clean
    assert not any(element.tag.is_private for element in walk(clean))
    assert not any(element.VR in ("DA", "DT", "TM") and element.value for element in walk(clean))
    # AND the kept sequences are still there (cleaned, not dropped), with their codes
    assert (region_clean.CodeValue, clean.ViewCodeSequence[0].CodeMeaning) == ("T-D3000", "PA")
    # AND UIDs are replaced consistently across references, at every depth
    new_sop, new_study = str(clean.SOPInstanceUID), str(clean.StudyInstanceUID)
    assert new_sop != source_uid and new_study != study_uid
    assert clean.ReferencedImageSequence[0].ReferencedSOPInstanceUID == new_sop
    assert inner_clean.ReferencedSOPInstanceUID == new_sop
    assert inner_clean.StudyInstanceUID == new_study
    assert inner_clean.ReferencedSOPClassUID == original.SOPClassUID
    assert clean.file_meta.MediaStorageSOPInstanceUID == new_sop
    # AND the copy says what was done, and the original is untouched
    assert clean.PatientIdentityRemoved == "YES"
    assert clean.LongitudinalTemporalInformationModified == "REMOVED"
    assert clean.DeidentificationMethodCodeSequence[0].CodeValue == "113100"
    assert original.PatientID == markers[1]


@pytest.mark.shared
def test_the_real_dicom_loses_its_identity_and_keeps_its_pixels(original):
    name, patient_id = str(original.PatientName), str(original.PatientID)
    assert name and patient_id  # the shared file carries both
    result = deidentify_dicom(original, uid_salt="secret", pseudonym="xr-0123456789abcdef")
    assert result.data is not None
    clean = pydicom.dcmread(io.BytesIO(result.data))
    assert name.encode() not in result.data
    assert patient_id.encode() not in result.data
    assert str(clean.PatientName) == ""  # Z in Table E.1-1
    assert "PatientAge" not in clean
    assert "SeriesDescription" not in clean
    assert (clean.Modality, clean.ViewPosition, clean.BodyPartExamined) == ("CR", "PA", "CHEST")
    np.testing.assert_array_equal(decode_image(result.data).pixels, decode_image(dicom_path().read_bytes()).pixels)


def _burned(modality: str, flag: str | None) -> Dataset:
    ds = pydicom.dcmread(io.BytesIO(dicom_bytes(synthetic_chest(64))))
    ds.Modality = modality
    if flag is not None:
        ds.BurnedInAnnotation = flag
    return ds


@pytest.mark.parametrize(("modality", "flag", "withheld"), [
    ("CR", "YES", True), ("DX", "YES", True), ("US", None, True), ("SC", None, True),
    ("US", "NO", False), ("CR", None, False), ("CR", "NO", False),
])
def test_burned_in_annotation_withholds_the_copy(modality, flag, withheld):
    # GIVEN a study whose header says (or whose modality implies) text burned into the pixels
    result = deidentify_dicom(_burned(modality, flag), uid_salt="s")
    # THEN no copy is released, never one stamped PatientIdentityRemoved over identifying pixels
    assert (result.data is None) is withheld
    assert (result.withheld is not None) is withheld
    if result.data is not None:
        assert pydicom.dcmread(io.BytesIO(result.data)).PatientIdentityRemoved == "YES"


def test_uids_are_keyed_the_same_key_gives_the_same_uids_another_key_other_ones():
    # GIVEN one DICOM and two de-identification keys
    original = pydicom.dcmread(io.BytesIO(dicom_bytes(synthetic_chest(256))))
    uids = ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID")

    def derived(key: str) -> list[str]:
        data = deidentify_dicom(original, uid_salt=key).data
        assert data is not None
        clean = pydicom.dcmread(io.BytesIO(data))
        return [str(clean.get(keyword)) for keyword in uids]

    first, again, other = derived("key-a" * 8), derived("key-a" * 8), derived("key-b" * 8)
    assert first == again
    assert all(a != b for a, b in zip(first, other, strict=True))
    # AND each is 2.25.<first 128 bits of HMAC-SHA256(key, original UID)>, never the original itself
    digests = [hmac.new(b"key-a" * 8, str(original.get(k)).encode(), hashlib.sha256).digest() for k in uids]
    expected = [f"2.25.{int.from_bytes(d[:16], 'big')}" for d in digests]
    assert first == expected
    assert all(len(uid) <= 64 for uid in first)
