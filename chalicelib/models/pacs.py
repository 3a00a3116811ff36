"""A health center's PACS destination and the record of one delivery into it."""

from __future__ import annotations

import re

from pydantic import Field

from chalicelib.models.common import Message

PACS_ATTRIBUTE = "pacs"  # principal attribute of a health center: "AE_TITLE@host:port" or a DICOMweb base URL
# principal attribute: "original" files results in the source image's own study (its Study/Series/SOP Instance
# UIDs, read from the upload at delivery); anything else (the default) uses the de-identified copy's UIDs.
UIDS_ATTRIBUTE = "pacs_uids"
_DESTINATION = re.compile(r"^(?P<ae>[ -~]{1,16})@(?P<host>[A-Za-z0-9.\-]{1,253}):(?P<port>\d{1,5})$")


_STOW_URL = re.compile(r"^https?://[A-Za-z0-9.\-]{1,253}(:\d{1,5})?(/[!-~]*)?$")


class PacsDestination(Message):
    """Where a center's results go: DICOM C-STORE (DIMSE over TCP) or DICOMweb STOW-RS (HTTP)."""

    ae_title: str | None = Field(None, min_length=1, max_length=16, description="C-STORE: the PACS's (called) "
                                 "application entity title.")
    host: str | None = Field(None, min_length=1, max_length=253)
    port: int | None = Field(None, ge=1, le=65535)
    stow_url: str | None = Field(None, max_length=2048, description="STOW-RS: the DICOMweb service's base URL "
                                 "(results are POSTed to <base>/studies).")
    original_uids: bool = Field(False, description="The center opted in to results that reference the source "
                                "image's original UIDs (and file into its original study).")

    @property
    def where(self) -> str:
        return self.stow_url or f"{self.ae_title}@{self.host}:{self.port}"

    @classmethod
    def parse(cls, value: str) -> PacsDestination:
        """``AE_TITLE@host:port`` or ``https://host/dicom-web``, as an admin writes it on the center's principal."""
        if _STOW_URL.match(value.strip()):
            return cls(stow_url=value.strip().rstrip("/"))
        match = _DESTINATION.match(value.strip())
        if match is None:
            raise ValueError(f"not a PACS destination (AE_TITLE@host:port or a DICOMweb URL): {value!r}")
        return cls(ae_title=match["ae"].strip(), host=match["host"], port=int(match["port"]))


class PacsDelivered(Message):
    """One result object stored in a center's PACS: the sender's ledger entry (never sent twice)."""

    center_id: str
    study_id: str
    kind: str = Field(description="sr (the structured report) or heatmap (the Secondary Capture).")
    sop_instance_uid: str
    destination: str
    status: int = Field(description="The C-STORE response status (0x0000 success, 0xB00x warnings).")
    delivered_ms: int
