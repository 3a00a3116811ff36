"""On the local platform: a DICOM uploaded through the API ends up, as an SR and a heat-map capture, in the
center's PACS (a pynetdicom storage SCP on loopback), through center-notify → pacs-delivery → C-STORE."""

from __future__ import annotations

import socket
import threading
from http import HTTPStatus
from typing import Any

import pydicom
import pytest
import requests
from client_support import authenticated
from golden_time_api_client.api.xray import create_study, get_study
from golden_time_api_client.models import StudyCreate, StudyStatus
from pydicom.uid import Comprehensive3DSRStorage, SecondaryCaptureImageStorage
from pynetdicom import AE, evt
from xray_support import dicom_bytes, synthetic_chest

from chalicelib.adapters.resources import Resources
from chalicelib.cli import create_principal
from chalicelib.models.principal import PrincipalKind
from chalicelib.settings import get_settings

pytestmark = pytest.mark.e2e


def test_a_dicom_upload_reaches_the_centers_pacs_as_sr_and_heatmap(local_platform: Any) -> None:
    # GIVEN a PACS on loopback and a health center whose principal names it
    received: list[pydicom.Dataset] = []
    arrived = threading.Event()

    def on_store(event: Any) -> int:
        received.append(event.dataset)
        if len(received) >= 2:
            arrived.set()
        return 0x0000

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    ae = AE(ae_title="E2EPACS")
    for context in (Comprehensive3DSRStorage, SecondaryCaptureImageStorage):
        ae.add_supported_context(context)
    server = ae.start_server(("127.0.0.1", port), block=False, evt_handlers=[(evt.EVT_C_STORE, on_store)])
    assert server is not None
    try:
        _, token = create_principal(PrincipalKind.HEALTH_CENTER, "e2e-hc-pacs", principal_id="e2e-hc-pacs",
                                    attributes={"pacs": f"E2EPACS@127.0.0.1:{port}"},
                                    resources=Resources(get_settings()))
        center = authenticated(local_platform.api_url, token)
        # WHEN the center uploads a chest DICOM through the API's presigned POST (S3's URL: not our API)
        created = create_study.sync_detailed(client=center, body=StudyCreate(filename="chest.dcm"))
        assert created.status_code == HTTPStatus.CREATED, created.content
        form, study_id = created.parsed.upload, created.parsed.study_id
        requests.post(form.url, data=form.fields.to_dict(),
                      files={"file": ("chest.dcm", dicom_bytes(synthetic_chest()))}, timeout=10).raise_for_status()
        # THEN its SR and heat-map capture reach the PACS
        assert arrived.wait(60), f"the PACS received {len(received)} object(s)"
    finally:
        server.shutdown()
    study = get_study.sync(study_id, client=center)
    assert study.status == StudyStatus.DONE
    classes = sorted(str(d.SOPClassUID) for d in received)
    assert classes == [SecondaryCaptureImageStorage, Comprehensive3DSRStorage]
    # AND the SR's scores are the reading's
    sr = next(d for d in received if d.SOPClassUID == Comprehensive3DSRStorage)
    scores = sorted(round(float(i.MeasuredValueSequence[0].NumericValue), 4) for group in sr.ContentSequence
                    for container in group.get("ContentSequence", []) for i in container.get("ContentSequence", [])
                    if i.ValueType == "NUM" and i.ConceptNameCodeSequence[0].CodeValue == "score")
    assert scores == sorted(round(f.score, 4) for f in study.reading.findings)
    # AND each object arrived once
    assert len({str(d.SOPInstanceUID) for d in received}) == len(received) == 2
