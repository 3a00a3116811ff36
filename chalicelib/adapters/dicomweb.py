"""DICOMweb STOW-RS into a PACS (PS3.18 10.5): one ``multipart/related; type="application/dicom"`` POST per
object to ``<base>/studies``."""

from __future__ import annotations

import io
import json
import secrets
import urllib.error
import urllib.request

from pydicom import Dataset

from chalicelib.errors import TransientError
from chalicelib.models.pacs import PacsDestination

_WARNING = 0xB000  # 202 Accepted: stored with warnings (PS3.18 Table 10.5.3-1)


def multipart_dicom(dataset: Dataset) -> tuple[bytes, str]:
    """The request body (one Part 10 file) and its Content-Type header."""
    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    boundary = f"gt-{secrets.token_hex(16)}"
    body = (f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode() + buffer.getvalue()
            + f"\r\n--{boundary}--\r\n".encode())
    return body, f'multipart/related; type="application/dicom"; boundary={boundary}'


class StowRsSender:
    """Stores datasets by STOW-RS; anything but 200/202 (or no answer) is a TransientError (retried)."""

    def __init__(self, *, timeout_s: float = 10.0) -> None:
        self._timeout_s = timeout_s

    def store(self, destination: PacsDestination, dataset: Dataset) -> int:
        if destination.stow_url is None:
            raise ValueError("not a DICOMweb destination")
        body, content_type = multipart_dicom(dataset)
        # the URL's scheme is http(s), checked when the destination was parsed
        request = urllib.request.Request(f"{destination.stow_url}/studies", data=body, method="POST",  # noqa: S310
                                         headers={"Content-Type": content_type, "Accept": "application/dicom+json"})
        try:
            with urllib.request.urlopen(request, timeout=self._timeout_s) as response:  # noqa: S310
                status, answer = response.status, response.read()
        except (urllib.error.URLError, OSError) as exc:
            raise TransientError(f"STOW-RS to {destination.stow_url} failed: {exc}") from exc
        if status not in (200, 202):
            raise TransientError(f"STOW-RS to {destination.stow_url} answered HTTP {status}")
        if status == 202 or _failed(answer):
            return _WARNING
        return 0x0000


def _failed(answer: bytes) -> bool:
    """Whether the Store Instances Response lists a Failed SOP Sequence (0008,1198)."""
    try:
        return bool(json.loads(answer or b"{}").get("00081198"))
    except ValueError:
        return False
