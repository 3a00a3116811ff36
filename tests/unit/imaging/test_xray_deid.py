"""DICOM de-identification (PS3.15 Basic Application Level Confidentiality Profile)."""

from __future__ import annotations

import io

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import generate_uid
from xray_support import dicom_bytes, dicom_path, synthetic_chest

from chalicelib.imaging import decode_image, deidentify_dicom


@pytest.fixture
def original():
    return pydicom.dcmread(dicom_path())


@pytest.mark.shared
def test_the_real_dicom_loses_its_patient_identity(original):
    name, patient_id = str(original.PatientName), str(original.PatientID)
    assert name and patient_id  # the shared file carries both
    # WHEN de-identified
    result = deidentify_dicom(original, uid_salt="secret", pseudonym="xr-0123456789abcdef")
    clean = pydicom.dcmread(io.BytesIO(result.data))
    # THEN neither value appears anywhere in the file, and the profile is recorded
    assert name.encode() not in result.data
    assert patient_id.encode() not in result.data
    assert str(clean.PatientName) == "xr-0123456789abcdef"
    assert clean.PatientID == "xr-0123456789abcdef"
    assert clean.PatientIdentityRemoved == "YES"
    assert "Basic Application Level Confidentiality Profile" in clean.DeidentificationMethod
    code = clean.DeidentificationMethodCodeSequence[0]
    assert (code.CodeValue, code.CodingSchemeDesignator) == ("113100", "DCM")
    assert "PatientAge" not in clean
    assert clean.PatientBirthDate == ""
    assert clean.StudyDate == ""
    # AND UIDs are replaced consistently (same salt → same new UID), the file meta follows
    assert clean.SOPInstanceUID != original.SOPInstanceUID
    assert clean.file_meta.MediaStorageSOPInstanceUID == clean.SOPInstanceUID
    again = pydicom.dcmread(io.BytesIO(deidentify_dicom(original, uid_salt="secret").data))
    assert again.StudyInstanceUID == clean.StudyInstanceUID
    # AND the pixels are untouched, the original dataset is not modified
    np.testing.assert_array_equal(decode_image(result.data).pixels, decode_image(dicom_path().read_bytes()).pixels)
    assert str(original.PatientName) == name


@pytest.mark.shared
def test_private_tags_nested_identity_and_overlays_are_removed(original):
    # GIVEN private tags, identity inside a sequence, an institution and an overlay comment
    original.private_block(0x0011, "ACME IMAGING", create=True).add_new(0x01, "LO", "Kim Minsu 010-1234-5678")
    other = Dataset()
    other.PatientID = "OTHER-ID-778899"
    other.PatientName = "Kim^Minsu"
    referenced = Dataset()
    referenced.ReferencedSOPInstanceUID = "1.2.3.4.5.6.7"
    referenced.PatientName = "Kim^Minsu"
    original.ReferencedImageSequence = Sequence([referenced])
    original.OtherPatientIDsSequence = Sequence([other])
    original.InstitutionName = "Jongno Clinic"
    original.add_new(0x60004000, "LT", "patient Kim Minsu")
    # WHEN de-identified
    result = deidentify_dicom(original, uid_salt="s")
    clean = pydicom.dcmread(io.BytesIO(result.data))
    # THEN none of it survives
    for text in (b"Kim", b"OTHER-ID-778899", b"Jongno Clinic", b"ACME", b"010-1234"):
        assert text not in result.data, text
    assert not any(element.tag.is_private for element in clean)
    assert "OtherPatientIDsSequence" not in clean
    assert clean.ReferencedImageSequence[0].ReferencedSOPInstanceUID != "1.2.3.4.5.6.7"
    assert "private" in " ".join(result.removed)


def test_uids_are_keyed_the_same_key_gives_the_same_uids_another_key_other_ones():
    # GIVEN one DICOM and two de-identification keys
    original = pydicom.dcmread(io.BytesIO(dicom_bytes(synthetic_chest(256))))
    uids = ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID")

    def derived(key: str) -> list[str]:
        clean = pydicom.dcmread(io.BytesIO(deidentify_dicom(original, uid_salt=key).data))
        return [str(clean.get(keyword)) for keyword in uids]

    # WHEN it is de-identified twice with the first key and once with the second
    first, again, other = derived("key-a" * 8), derived("key-a" * 8), derived("key-b" * 8)
    # THEN the same key gives the same UIDs (one patient's studies stay linked), another key other UIDs
    assert first == again
    assert all(a != b for a, b in zip(first, other, strict=True))
    # AND each is the key-derived UID of the original, never the original itself
    assert first == [generate_uid(entropy_srcs=["key-a" * 8, str(original.get(k))]) for k in uids]
    assert not set(first) & {str(original.get(k)) for k in uids}
