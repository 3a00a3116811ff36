"""DICOM de-identification: PS3.15 Annex E, Basic Application Level Confidentiality Profile.

Each attribute of the profile table gets its action: ``X`` remove, ``Z`` empty (type 2 kept
present), ``D`` replace with a dummy, ``U`` replace the UID with a new one derived from a salted
hash (so the series / study structure of a centre's uploads stays consistent). Private tags,
curves and overlay comments go as the profile requires. Sequences are cleaned recursively. The
result records ``PatientIdentityRemoved=YES``, the method and code 113100 (Basic Application
Confidentiality Profile) in ``DeidentificationMethodCodeSequence``. Pixel data are kept as they
are (burned-in text is flagged by the header, see ``burned_in_annotation``).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import generate_uid

METHOD = "PS3.15 Basic Application Level Confidentiality Profile"  # LO: ≤ 64 characters
PROFILE_CODE = ("113100", "DCM", "Basic Application Confidentiality Profile")

# Keyword → action, from PS3.15 Table E.1-1 (the attributes an X-ray object can carry).
_ACTIONS: dict[str, str] = {
    # Patient
    "PatientName": "D", "PatientID": "D", "PatientBirthDate": "Z", "PatientBirthTime": "X", "PatientSex": "Z",
    "PatientAge": "X", "PatientSize": "X", "PatientWeight": "X", "PatientAddress": "X",
    "PatientTelephoneNumbers": "X", "PatientMotherBirthName": "X", "PatientBirthName": "X",
    "OtherPatientIDs": "X", "OtherPatientNames": "X", "OtherPatientIDsSequence": "X", "IssuerOfPatientID": "X",
    "PatientComments": "X", "AdditionalPatientHistory": "X", "EthnicGroup": "X", "Occupation": "X",
    "MilitaryRank": "X", "BranchOfService": "X", "CountryOfResidence": "X", "RegionOfResidence": "X",
    "PatientReligiousPreference": "X", "MedicalRecordLocator": "X", "PatientInsurancePlanCodeSequence": "X",
    "InsurancePlanIdentification": "X", "PatientState": "X", "PregnancyStatus": "X", "MedicalAlerts": "X",
    "Allergies": "X", "SmokingStatus": "X", "LastMenstrualDate": "X", "ResponsiblePerson": "X",
    "ResponsibleOrganization": "X", "PatientSexNeutered": "X", "ReferencedPatientSequence": "X",
    "ReferencedPatientPhotoSequence": "X", "PatientPrimaryLanguageCodeSequence": "X",
    # Study / visit
    "StudyDate": "Z", "StudyTime": "Z", "AccessionNumber": "Z", "StudyID": "Z", "ReferringPhysicianName": "Z",
    "ReferringPhysicianAddress": "X", "ReferringPhysicianTelephoneNumbers": "X", "StudyDescription": "X",
    "PhysiciansOfRecord": "X", "NameOfPhysiciansReadingStudy": "X", "RequestingPhysician": "X",
    "AdmittingDiagnosesDescription": "X", "AdmissionID": "X", "IssuerOfAdmissionID": "X",
    "ReferencedStudySequence": "X", "RequestAttributesSequence": "X", "RequestedProcedureDescription": "X",
    "ScheduledProcedureStepDescription": "X", "PerformedProcedureStepDescription": "X",
    "PerformedProcedureStepID": "X", "PerformedProcedureStepStartDate": "X",
    "PerformedProcedureStepStartTime": "X", "ReferencedPerformedProcedureStepSequence": "X",
    "OrderEntererLocation": "X", "OrderCallbackPhoneNumber": "X", "ReasonForStudy": "X",
    "RequestedProcedureID": "X", "ServiceEpisodeID": "X", "CurrentPatientLocation": "X",
    # Series / equipment / acquisition
    "SeriesDate": "X", "SeriesTime": "X", "AcquisitionDate": "X", "AcquisitionTime": "X",
    "AcquisitionDateTime": "X", "ContentDate": "Z", "ContentTime": "Z", "InstanceCreationDate": "X",
    "InstanceCreationTime": "X", "SeriesDescription": "X", "ProtocolName": "X", "OperatorsName": "X",
    "PerformingPhysicianName": "X", "InstitutionName": "X", "InstitutionAddress": "X",
    "InstitutionalDepartmentName": "X", "StationName": "X", "DeviceSerialNumber": "X",
    "PlateID": "X", "DetectorID": "X", "GantryID": "X", "CassetteID": "X", "ImageComments": "X",
    "DerivationDescription": "X", "ContentCreatorName": "Z", "TextComments": "X", "TextString": "X",
    "TimezoneOffsetFromUTC": "X", "SpecificCharacterSet": "K",
    # UIDs
    "StudyInstanceUID": "U", "SeriesInstanceUID": "U", "SOPInstanceUID": "U", "FrameOfReferenceUID": "U",
    "ReferencedSOPInstanceUID": "U", "InstanceCreatorUID": "U", "IrradiationEventUID": "U",
    "StorageMediaFileSetUID": "U", "SynchronizationFrameOfReferenceUID": "U", "DimensionOrganizationUID": "U",
}
_DUMMY = {"PatientName": "ANONYMIZED", "PatientID": "ANONYMIZED"}


@dataclass(frozen=True)
class Deidentified:
    data: bytes
    removed: tuple[str, ...]
    burned_in_annotation: bool


def deidentify_dicom(dataset: Dataset, *, uid_salt: str, pseudonym: str | None = None) -> Deidentified:
    """A de-identified copy of ``dataset`` (the original is not modified), encoded as a DICOM file.

    ``pseudonym`` (e.g. the study id) replaces PatientID / PatientName; ``uid_salt`` should be a
    deployment secret so new UIDs cannot be recomputed from known originals.
    """
    ds = _copy(dataset)
    dummies = dict(_DUMMY)
    if pseudonym:
        dummies = {"PatientName": pseudonym, "PatientID": pseudonym}
    removed: list[str] = []
    _clean(ds, uid_salt, dummies, removed)
    ds.PatientIdentityRemoved = "YES"
    ds.DeidentificationMethod = METHOD
    code = Dataset()
    code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = PROFILE_CODE
    ds.DeidentificationMethodCodeSequence = Sequence([code])
    ds.LongitudinalTemporalInformationModified = "REMOVED"
    if getattr(ds, "file_meta", None) is not None and "SOPInstanceUID" in ds:
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    burned = str(dataset.get("BurnedInAnnotation", "")).upper() == "YES"
    return Deidentified(data=buffer.getvalue(), removed=tuple(sorted(set(removed))), burned_in_annotation=burned)


def _copy(dataset: Dataset) -> Dataset:
    import pydicom

    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    buffer.seek(0)
    return pydicom.dcmread(buffer)


def _clean(ds: Dataset, salt: str, dummies: dict[str, str], removed: list[str]) -> None:
    for element in list(ds):
        tag = element.tag
        keyword = element.keyword or ""
        if tag.is_private:
            del ds[tag]
            removed.append(f"private {tag}")
            continue
        group = tag.group
        if (0x5000 <= group <= 0x50FF) or (0x6000 <= group <= 0x60FF and tag.element in (0x4000, 0x3000)):
            del ds[tag]  # curves; overlay comments and overlay data (may carry burned-in identity)
            removed.append(keyword or str(tag))
            continue
        action = _ACTIONS.get(keyword)
        if action == "X":
            del ds[tag]
            removed.append(keyword)
        elif action == "Z":
            element.value = ""
        elif action == "D":
            element.value = dummies.get(keyword, "ANONYMIZED")
        elif action == "U" and element.value:
            element.value = _new_uid(element.value, salt)
        elif element.VR == "SQ":
            for item in element.value:
                _clean(item, salt, dummies, removed)


def _new_uid(value: Any, salt: str) -> Any:
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return [generate_uid(entropy_srcs=[salt, str(v)]) for v in value]
    return generate_uid(entropy_srcs=[salt, str(value)])
