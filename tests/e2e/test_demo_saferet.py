"""The safe-return demo step against the local platform: the SOS reaches police 112's loopback webhook signed,
and police acknowledge it (the demo's receiving system verifies with the documented scheme)."""

from __future__ import annotations

import pytest

from chalicelib.adapters.resources import Resources
from chalicelib.cli import create_principal
from chalicelib.models.principal import PrincipalKind
from chalicelib.settings import get_settings
from local import demo_saferet

pytestmark = pytest.mark.e2e


def test_the_demo_sos_reaches_police_and_is_acknowledged(local_platform, capsys):
    resources = Resources(get_settings())
    tokens = {}
    for kind, pid, cidrs in ((PrincipalKind.APP, "ds-alice", ()), (PrincipalKind.OPERATOR, "ds-operator", ()),
                             (PrincipalKind.AGENCY, "police-112", ("127.0.0.2/32",))):
        _, tokens[pid] = create_principal(kind, pid, principal_id=pid, cidrs=cidrs, resources=resources)
    tokens["app-alice"], tokens["operator-1"] = tokens["ds-alice"], tokens["ds-operator"]
    rows = dict(demo_saferet.run(local_platform, tokens, resources))
    assert rows["saferet: 112 webhook + receipt"] == "signed, acknowledged (SMPA-DEMO-0001)"
    assert "signature verified" in capsys.readouterr().out
