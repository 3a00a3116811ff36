"""What one pacs-delivery container builds once: the studies, the ledger, the audit log, the C-STORE / STOW-RS sender,
and each center's destination (its principal's ``pacs`` attribute)."""

from __future__ import annotations

import logging

from pydicom import Dataset

from chalicelib.adapters.dicomweb import StowRsSender
from chalicelib.adapters.dimse import CStoreSender
from chalicelib.adapters.resources import Resources
from chalicelib.models.pacs import PACS_ATTRIBUTE, UIDS_ATTRIBUTE, PacsDestination
from chalicelib.services.audit import AuditLog
from chalicelib.services.principals import PrincipalDirectory
from chalicelib.services.xray.pacs_delivery import PacsDelivery
from chalicelib.services.xray.studies import XrayStudies

logger = logging.getLogger(__name__)


class RoutingSender:
    """C-STORE for an AE destination, STOW-RS for a DICOMweb one."""

    def __init__(self) -> None:
        self._dimse = CStoreSender()
        self._stow = StowRsSender()

    def store(self, destination: PacsDestination, dataset: Dataset) -> int:
        sender = self._stow if destination.stow_url else self._dimse
        return sender.store(destination, dataset)


def build_delivery(resources: Resources) -> PacsDelivery:
    principals = PrincipalDirectory(resources.table("principals"))

    def destination_of(center_id: str) -> PacsDestination | None:
        principal = principals.get(center_id)
        value = principal.attributes.get(PACS_ATTRIBUTE) if principal is not None else None
        if not value:
            return None
        try:
            destination = PacsDestination.parse(value)
        except ValueError:
            logger.error("center has a malformed PACS destination", extra={"center_id": center_id})
            return None
        original = principal is not None and principal.attributes.get(UIDS_ATTRIBUTE) == "original"
        return destination.model_copy(update={"original_uids": original})

    xray = resources.store("xray")
    return PacsDelivery(XrayStudies(resources.table("records"), xray), xray, resources.table("records"),
                        AuditLog(resources.table("audit")), RoutingSender(), destination_of)
