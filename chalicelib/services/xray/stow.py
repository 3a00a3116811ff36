"""Studies in by DICOMweb: STOW-RS "Store Instances" (DICOM PS3.18 10.5) on the API.

A center's PACS POSTs ``multipart/related; type="application/dicom"`` (each part a PS3.10 file) to
``/v1/xray/dicomweb/studies``. Each acceptable instance becomes one study, its file stored under the key a
presigned POST would have used, so the reader's S3 notification reads it exactly as an uploaded image. The
answer is the Store Instances Response Module in ``application/dicom+json``: the stored instances in
Referenced SOP Sequence (with the study's URL as Retrieve URL), the refused ones in Failed SOP Sequence with
a Failure Reason (PS3.18 table 10.5.3-2), and 200 (all stored), 202 (some) or 409 (none).

A PACS that forwards the same instance again (a retry) gets the study it created the first time: the
instance's SOP Instance UID is remembered per center as a keyed hash, never in clear. Pure: ports in.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage

import pydicom
from pydicom import Dataset
from pydicom.errors import InvalidDicomError

from chalicelib.errors import BadRequest, ConditionFailed, PayloadTooLarge, UnsupportedMediaType
from chalicelib.ports import Table
from chalicelib.services.xray.studies import XrayStudies

MEDIA_TYPE = "multipart/related"
PART_TYPE = "application/dicom"
RESPONSE_TYPE = "application/dicom+json"
# Failure Reason values (PS3.18 table 10.5.3-2 / PS3.4 annex GG)
CANNOT_UNDERSTAND = 0xC000
SOP_CLASS_NOT_SUPPORTED = 0x0122
DOES_NOT_MATCH_SOP_CLASS = 0xA900
OUT_OF_RESOURCES = 0xA700
# Radiograph storage classes a chest reading applies to: CR, DX (for presentation and for processing), SC.
ACCEPTED_SOP_CLASSES = frozenset({"1.2.840.10008.5.1.4.1.1.1", "1.2.840.10008.5.1.4.1.1.1.1",
                                  "1.2.840.10008.5.1.4.1.1.1.1.1", "1.2.840.10008.5.1.4.1.1.7"})


@dataclass(frozen=True)
class StowPolicy:
    # A Lambda request payload is at most 6 MB and API Gateway base64-encodes binary bodies (4/3 larger).
    max_request_bytes: int = 4 * 1024 * 1024
    max_instances: int = 16
    max_side: int = 16384
    max_pixels: int = 40_000_000


@dataclass
class StowOutcome:
    stored: list[tuple[Dataset, str]] = field(default_factory=list)  # (instance, study_id)
    failed: list[tuple[str, str, int, str]] = field(default_factory=list)  # (class, instance, reason, why)

    @property
    def status(self) -> int:
        if not self.failed:
            return 200
        return 202 if self.stored else 409

    def response(self, study_url: Callable[[str], str]) -> dict[str, object]:
        """The Store Instances Response Module as DICOM JSON (PS3.18 F.2)."""
        answer = Dataset()
        referenced = []
        for instance, study_id in self.stored:
            item = Dataset()
            item.ReferencedSOPClassUID = instance.SOPClassUID
            item.ReferencedSOPInstanceUID = instance.SOPInstanceUID
            item.RetrieveURL = study_url(study_id)
            referenced.append(item)
        failed = []
        for sop_class, sop_instance, reason, _ in self.failed:
            item = Dataset()
            item.ReferencedSOPClassUID = sop_class or None
            item.ReferencedSOPInstanceUID = sop_instance or None
            item.FailureReason = reason
            failed.append(item)
        if referenced:
            answer.ReferencedSOPSequence = referenced
        if failed:
            answer.FailedSOPSequence = failed
        return answer.to_json_dict()


def dicom_parts(content_type: str, body: bytes) -> list[bytes]:
    """The PS3.10 files of a ``multipart/related; type="application/dicom"`` body (RFC 2046 5.1.1)."""
    header = EmailMessage()
    try:
        header["Content-Type"] = content_type
        media, part_type, boundary = header.get_content_type(), header.get_param("type"), header.get_param("boundary")
    except Exception as exc:  # a header the email parser cannot take at all
        raise BadRequest(f"unreadable Content-Type ({type(exc).__name__})") from exc
    if media != MEDIA_TYPE:
        raise UnsupportedMediaType(f"STOW-RS takes {MEDIA_TYPE}; type=\"{PART_TYPE}\", not {content_type!r}")
    if not isinstance(part_type, str) or part_type.lower() != PART_TYPE:
        raise UnsupportedMediaType(f"only type=\"{PART_TYPE}\" parts are accepted (PS3.10 files), not {part_type!r}")
    if not isinstance(boundary, str) or not 1 <= len(boundary) <= 70:  # RFC 2046 5.1.1
        raise BadRequest("the multipart Content-Type has no boundary")
    chunks = (b"\r\n" + body).split(b"\r\n--" + boundary.encode())
    parts: list[bytes] = []
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):  # the close delimiter
            return parts
        head, separator, content = chunk.partition(b"\r\n\r\n")
        if not separator:
            raise BadRequest("a multipart part has no header/body separator")
        for line in head.split(b"\r\n")[1:]:  # the first line is the rest of the delimiter line (padding)
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-type" and value.split(";")[0].strip().lower() != PART_TYPE:
                raise UnsupportedMediaType(f"a part is {value.strip()!r}; every part must be {PART_TYPE}")
        parts.append(content)
    raise BadRequest("the multipart body has no close delimiter (truncated?)")


class StowIngest:
    def __init__(self, studies: XrayStudies, table: Table, uid_key: str, policy: StowPolicy | None = None) -> None:
        self._studies = studies
        self._table = table
        self._uid_key = uid_key.encode()
        self.policy = policy or StowPolicy()

    def store(self, center_id: str, content_type: str, body: bytes, *, now_ms: int) -> StowOutcome:
        if len(body) > self.policy.max_request_bytes:
            raise PayloadTooLarge(f"a STOW-RS request may carry at most {self.policy.max_request_bytes} bytes; "
                                  "send fewer instances per request")
        parts = dicom_parts(content_type, body)
        if not parts:
            raise BadRequest("the multipart body holds no instance")
        if len(parts) > self.policy.max_instances:
            raise PayloadTooLarge(f"at most {self.policy.max_instances} instances per request, not {len(parts)}")
        outcome = StowOutcome()
        for data in parts:
            self._store_one(center_id, data, outcome, now_ms=now_ms)
        return outcome

    def _store_one(self, center_id: str, data: bytes, outcome: StowOutcome, *, now_ms: int) -> None:
        try:
            instance = pydicom.dcmread(io.BytesIO(data))
            sop_class, sop_instance = str(instance.SOPClassUID), str(instance.SOPInstanceUID)
        except InvalidDicomError:
            outcome.failed.append(("", "", CANNOT_UNDERSTAND, "not a PS3.10 DICOM file (no DICM preamble)"))
            return
        except Exception as exc:  # a parser crash on hostile bytes is still those bytes' fault
            outcome.failed.append(("", "", CANNOT_UNDERSTAND, f"not a readable DICOM file ({type(exc).__name__})"))
            return
        try:
            problem = self._problem(instance)
        except Exception as exc:  # e.g. Rows that is no number
            problem = DOES_NOT_MATCH_SOP_CLASS, f"unreadable image attributes ({type(exc).__name__})"
        if problem is not None:
            outcome.failed.append((sop_class, sop_instance, *problem))
            return
        marker = {"pk": f"STOW#{center_id}", "sk": self._keyed(sop_instance)}
        seen = self._table.get(marker)
        if seen is not None:  # the PACS sent it again: the study it made the first time
            outcome.stored.append((instance, str(seen["study_id"])))
            return
        study = self._studies.receive(center_id, data, now_ms=now_ms)
        with contextlib.suppress(ConditionFailed):  # a concurrent request stored it first: both are read
            self._table.put({**marker, "study_id": study.study_id}, if_absent=True)
        outcome.stored.append((instance, study.study_id))

    def _problem(self, instance: Dataset) -> tuple[int, str] | None:
        if str(instance.SOPClassUID) not in ACCEPTED_SOP_CLASSES:
            return SOP_CLASS_NOT_SUPPORTED, f"SOP class {instance.SOPClassUID} is not a radiograph"
        if "PixelData" not in instance or "Rows" not in instance or "Columns" not in instance:
            return DOES_NOT_MATCH_SOP_CLASS, "an image instance without pixel data"
        rows, columns = int(instance.Rows), int(instance.Columns)
        policy = self.policy
        if max(rows, columns) > policy.max_side or rows * columns > policy.max_pixels:
            return OUT_OF_RESOURCES, f"{columns}x{rows} exceeds {policy.max_side} a side or {policy.max_pixels} pixels"
        return None

    def _keyed(self, sop_instance_uid: str) -> str:
        return hashlib.blake2b(sop_instance_uid.encode(), key=self._uid_key[:64], digest_size=20).hexdigest()
