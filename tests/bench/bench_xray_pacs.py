"""X-ray results into a PACS on the local platform: ``xray_to_pacs_p95_s`` (upload → SR stored in the PACS).

Run: ``.venv/bin/python tests/bench/bench_xray_pacs.py [--uploads 20]`` (``make bench-xray_pacs``).
Starts its own LocalPlatform on ephemeral ports and a pynetdicom storage SCP on loopback (the center's PACS,
set as the center's ``pacs`` attribute), then uploads ``--uploads`` DICOM chest films one after another
through presigned POSTs; each figure runs from the upload's start to the moment the SCP has stored the
study's structured report (delivered by center-notify → pacs-delivery → C-STORE). Prints ``BENCH`` lines:
the first upload (cold starts) as ``xray_to_pacs_cold_s``, the others' p50/p95 (target p95 ≤ 3 s).
``--via stow`` sends each film by STOW-RS to the API instead (the center's PACS forwarding its new studies) and
names the figures ``xray_stow_to_pacs_*``: from the STOW-RS request's start to the SR stored in the PACS.
"""

from __future__ import annotations

import argparse
import io
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pydicom
import requests
from pydicom.uid import Comprehensive3DSRStorage, SecondaryCaptureImageStorage
from pynetdicom import AE, evt

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: the shared DICOM builder

from xray_support import dicom_bytes

from chalicelib.adapters.dicomweb import multipart_dicom
from chalicelib.adapters.resources import Resources
from chalicelib.cli import create_principal
from chalicelib.models.principal import PrincipalKind
from chalicelib.settings import get_settings
from local.http_client import session_from
from local.platform import LocalPlatform, PlatformConfig
from local.xray_samples import synthetic_chest

TARGET_P95_S = 3.0


def bench(name: str, value: float, unit: str) -> None:
    print(f"BENCH {name} {value:.3f} {unit}", flush=True)


def chest_dicom(seed: int) -> bytes:
    """A CR chest film with a patient (de-identified by the reader before any result is built)."""
    return dicom_bytes(synthetic_chest(512, seed=seed), patient_name="Bench^Patient", patient_id=f"P-{seed:04d}")


class Pacs:
    """A storage SCP that notes when each SR arrives."""

    def __init__(self) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.sr_arrivals: list[float] = []
        self.captures = 0
        self._arrived = threading.Condition()
        ae = AE(ae_title="BENCHPACS")
        for context in (Comprehensive3DSRStorage, SecondaryCaptureImageStorage):
            ae.add_supported_context(context)
        server = ae.start_server(("127.0.0.1", self.port), block=False,
                                 evt_handlers=[(evt.EVT_C_STORE, self._on_store)])
        assert server is not None
        self._server = server

    def _on_store(self, event: Any) -> int:
        with self._arrived:
            if event.request.AffectedSOPClassUID == Comprehensive3DSRStorage:
                self.sr_arrivals.append(time.time())
            else:
                self.captures += 1
            self._arrived.notify_all()
        return 0x0000

    def wait_for_sr(self, count: int, timeout_s: float) -> float | None:
        with self._arrived:
            if self._arrived.wait_for(lambda: len(self.sr_arrivals) >= count, timeout=timeout_s):
                return self.sr_arrivals[count - 1]
        return None

    def stop(self) -> None:
        self._server.shutdown()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--uploads", type=int, default=20)
    parser.add_argument("--via", choices=["presigned", "stow"], default="presigned")
    args = parser.parse_args()
    prefix = "xray_stow_to_pacs" if args.via == "stow" else "xray_to_pacs"
    pacs = Pacs()
    try:
        with tempfile.TemporaryDirectory() as state:
            config = PlatformConfig(state_dir=Path(state), stage="bench", aws_port=0, api_port=0, edge_port=0,
                                    with_schedules=False, batch_workers=1)
            with LocalPlatform(config) as platform:
                _, token = create_principal(PrincipalKind.HEALTH_CENTER, "Bench PACS center",
                                            principal_id="hc-bench-pacs",
                                            attributes={"pacs": f"BENCHPACS@127.0.0.1:{pacs.port}"},
                                            resources=Resources(get_settings()))
                client = session_from(token=token)
                figures: list[float] = []
                for n in range(args.uploads):
                    data = chest_dicom(n)
                    if args.via == "stow":
                        body, content_type = multipart_dicom(pydicom.dcmread(io.BytesIO(data)))
                        started = time.time()
                        client.post(f"{platform.api_url}/v1/xray/dicomweb/studies", data=body,
                                    headers={"Content-Type": content_type, "Accept": "application/dicom+json"},
                                    timeout=30).raise_for_status()
                    else:
                        created = client.post(f"{platform.api_url}/v1/xray/studies", json={"filename": "chest.dcm"})
                        created.raise_for_status()
                        form = created.json()["upload"]
                        started = time.time()
                        requests.post(form["url"], data=form["fields"], files={"file": ("chest.dcm", data)},
                                      timeout=30).raise_for_status()
                    arrived = pacs.wait_for_sr(n + 1, timeout_s=60)
                    if arrived is None:
                        print(f"# SR {n + 1} never reached the PACS", file=sys.stderr)
                        return 1
                    figures.append(arrived - started)
                # the first includes the platform's cold starts (reader and pacs-delivery); the rest are warm
                bench(f"{prefix}_cold_s", figures[0], "s")
                warm = sorted(figures[1:] or figures)
                bench(f"{prefix}_p50_s", warm[len(warm) // 2], "s")
                bench(f"{prefix}_p95_s", warm[min(len(warm) - 1, round(0.95 * (len(warm) - 1)))], "s")
                print(f"# heat-map captures stored so far: {pacs.captures}/{args.uploads}", flush=True)
    finally:
        pacs.stop()
    warm = sorted(figures[1:] or figures)
    if warm[min(len(warm) - 1, round(0.95 * (len(warm) - 1)))] > TARGET_P95_S:
        print(f"# targets missed: {prefix}_p95_s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
