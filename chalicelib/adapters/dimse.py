"""DICOM C-STORE into a PACS (pynetdicom, DIMSE over TCP): one association per call."""

from __future__ import annotations

from pydicom import Dataset
from pydicom.uid import Comprehensive3DSRStorage, SecondaryCaptureImageStorage
from pynetdicom import AE

from chalicelib.errors import TransientError
from chalicelib.models.pacs import PacsDestination

CALLING_AE = "GOLDENTIME"
_WARNINGS = {0xB000, 0xB006, 0xB007}  # stored, with coercion / elements discarded (PS3.4 B.2.3)


class CStoreSender:
    """Stores datasets in a PACS; a refused association or a failure status is a TransientError (retried)."""

    def __init__(self, *, calling_ae: str = CALLING_AE, timeout_s: float = 10.0) -> None:
        self._ae = AE(ae_title=calling_ae)
        for context in (Comprehensive3DSRStorage, SecondaryCaptureImageStorage):
            self._ae.add_requested_context(context)
        self._ae.acse_timeout = self._ae.dimse_timeout = self._ae.network_timeout = timeout_s

    def store(self, destination: PacsDestination, dataset: Dataset) -> int:
        if destination.host is None or destination.port is None or destination.ae_title is None:
            raise ValueError("not a DIMSE destination")
        assoc = self._ae.associate(destination.host, destination.port, ae_title=destination.ae_title)
        if not assoc.is_established:
            raise TransientError(f"PACS {destination.ae_title}@{destination.host}:{destination.port} refused or "
                                 "did not answer the association")
        try:
            status = assoc.send_c_store(dataset)
        finally:
            assoc.release()
        code = int(status.Status) if status and "Status" in status else -1
        if code != 0x0000 and code not in _WARNINGS:
            raise TransientError(f"PACS {destination.ae_title} answered C-STORE with status 0x{code & 0xFFFF:04X}")
        return code
