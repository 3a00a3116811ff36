"""A center's PACS destination as the admin writes it on the principal (``pacs=AE_TITLE@host:port``)."""

from __future__ import annotations

import pytest

from chalicelib.models.pacs import PacsDestination


def test_destination_is_parsed_from_the_principal_attribute() -> None:
    destination = PacsDestination.parse("ORTHANC@pacs.hc-mapo.local:4242")
    assert (destination.ae_title, destination.host, destination.port) == ("ORTHANC", "pacs.hc-mapo.local", 4242)


@pytest.mark.parametrize("value", ["ORTHANC@host", "@host:104", "A_TITLE_LONGER_THAN_16@host:104",
                                   "PACS@host:0", "PACS@host:70000", "PACS@bad host:104"])
def test_malformed_destinations_are_refused(value: str) -> None:
    with pytest.raises(ValueError):
        PacsDestination.parse(value)


def test_a_dicomweb_base_url_is_a_stow_rs_destination() -> None:
    destination = PacsDestination.parse("https://pacs.hc-mapo.local:8443/dicom-web/")
    assert destination.stow_url == "https://pacs.hc-mapo.local:8443/dicom-web"
    assert destination.ae_title is None and destination.where == destination.stow_url


@pytest.mark.parametrize("value", ["file:///etc/passwd", "ftp://host/dicom-web", "https://bad host/x"])
def test_only_http_urls_are_stow_rs_destinations(value: str) -> None:
    with pytest.raises(ValueError):
        PacsDestination.parse(value)
