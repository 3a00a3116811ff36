"""The X-ray demo step against the local platform, through the generated client: every film is read, the
colour photo is rejected with its reason, and a DICOM's de-identified copy keeps no name."""

from __future__ import annotations

import pytest

from chalicelib.adapters.resources import Resources
from chalicelib.cli import create_principal
from chalicelib.models.principal import PrincipalKind
from chalicelib.settings import get_settings
from local import demo_xray

pytestmark = pytest.mark.e2e


def test_the_demo_reads_every_film_and_rejects_the_colour_photo(local_platform, capsys):
    resources = Resources(get_settings())
    _, token = create_principal(PrincipalKind.HEALTH_CENTER, "demo center", principal_id="dx-hc-jongno",
                                resources=resources)
    files, _ = demo_xray._demo_files()
    rows = dict(demo_xray.run(local_platform, {"hc-jongno": token}, resources))
    assert rows["x-ray readings"].startswith(f"{len(files)}/{len(files)} done")
    assert rows["x-ray colour photo"] == "rejected (colour_photo)"
    if any(name.endswith(".dcm") for name, _ in files):
        assert rows["x-ray DICOM de-identified"] == "PatientIdentityRemoved=YES, name leaked: False"
    assert "NON-CLINICAL reference model" in capsys.readouterr().out
