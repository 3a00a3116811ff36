"""On the local platform, over HTTP: a center subscribes its webhook, its PACS forwards a study by STOW-RS, the
signed webhook says it is read, the center lists it and fetches the Korean PDF report."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import queue
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pydicom
import pypdf
import pytest
from client_support import authenticated
from golden_time_api_client.api.xray import list_studies, study_report
from golden_time_api_client.api.xray_webhooks import subscribe_webhook
from golden_time_api_client.models import StudyStatus, WebhookSubscribe
from golden_time_api_client.types import File
from xray_support import dicom_bytes, synthetic_chest

from chalicelib.adapters.dicomweb import multipart_dicom
from chalicelib.adapters.resources import Resources
from chalicelib.cli import create_principal
from chalicelib.models.principal import PrincipalKind
from chalicelib.settings import get_settings
from local.http_client import session_from

pytestmark = pytest.mark.e2e


def test_stow_in_signed_webhook_out_listing_and_korean_pdf(local_platform: Any) -> None:
    # GIVEN a center's webhook receiver on loopback that keeps what verifies under the documented scheme
    verified: queue.Queue[dict[str, Any]] = queue.Queue()
    secret: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            stamp = self.headers.get("X-GT-Timestamp", "")
            expected = "v1=" + hmac.new(secret[0].encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
            ok = hmac.compare_digest(expected, self.headers.get("X-GT-Signature", ""))
            self.send_response(200 if ok else 401)
            self.end_headers()
            if ok:
                verified.put(json.loads(body))

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        _, token = create_principal(PrincipalKind.HEALTH_CENTER, "e2e-hc-stow", principal_id="e2e-hc-stow",
                                    resources=Resources(get_settings()))
        center = authenticated(local_platform.api_url, token)
        subscribed = subscribe_webhook.sync_detailed(client=center, body=WebhookSubscribe(
            url=f"http://127.0.0.1:{server.server_address[1]}/hook"))
        assert subscribed.status_code == HTTPStatus.OK, subscribed.content
        secret.append(subscribed.parsed.secret)
        # WHEN its PACS forwards a chest film by STOW-RS (raw HTTP: DICOMweb's multipart/related, its boundary in
        # Content-Type, is what a PACS sends; openapi-python-client does not generate multipart/related operations)
        body, content_type = multipart_dicom(pydicom.dcmread(io.BytesIO(dicom_bytes(synthetic_chest(seed=21)))))
        stored = session_from(token=token).post(
            f"{local_platform.api_url}/v1/xray/dicomweb/studies", data=body,
            headers={"Content-Type": content_type, "Accept": "application/dicom+json"})
        assert stored.status_code == 200, stored.text
        url = pydicom.Dataset.from_json(stored.json()).ReferencedSOPSequence[0].RetrieveURL
        study_id = url.rsplit("/", 1)[-1]
        # THEN the signed webhook says it is read
        event = verified.get(timeout=60)
        assert (event["study_id"], event["type"]) == (study_id, "xray.study.done")
    finally:
        server.shutdown()
        server.server_close()
    # AND the center lists it and reads its report in Korean
    listed = list_studies.sync(client=center, status=StudyStatus.DONE)
    assert study_id in [s.study_id for s in listed.studies]
    report = study_report.sync_detailed(study_id, client=center.with_headers({"Accept": "application/pdf"}))
    assert report.status_code == HTTPStatus.OK and report.headers["Content-Type"] == "application/pdf"
    assert isinstance(report.parsed, File)
    text = "".join(page.extract_text() for page in pypdf.PdfReader(report.parsed.payload).pages)
    assert "흉부 X선 AI 판독 보고서" in text and "비임상용" in text
