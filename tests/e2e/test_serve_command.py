"""`make serve` runs in the foreground and Ctrl-C (SIGINT) stops everything cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from http import HTTPStatus
from pathlib import Path

import pytest
from client_support import anonymous
from golden_time_api_client.api.cameras import nearby

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def _children(pid: int) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(proc.name))
            except (OSError, IndexError, ValueError):
                continue
    return found


def test_serve_comes_up_answers_and_stops_on_ctrl_c(tmp_path):
    # GIVEN the serve command on free ports
    process = subprocess.Popen(
        [sys.executable, "-m", "local", "serve", "--state-dir", str(tmp_path), "--aws-port", "0",
         "--api-port", "0", "--edge-port", "0"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    lines: list[str] = []
    assert process.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any("Ctrl-C" in line for line in lines):
        lines.append(process.stdout.readline())
    api = next(line.split()[-1] for line in lines if line.strip().startswith("API"))
    emulator_pids = _children(process.pid)

    # WHEN it answers and then receives Ctrl-C
    reply = nearby.sync_detailed(client=anonymous(api), lat=37.5, lon=127.0)
    process.send_signal(signal.SIGINT)
    code = process.wait(timeout=30)

    # THEN the API was up, the process exited 0 and took its emulator with it
    assert reply.status_code == HTTPStatus.UNAUTHORIZED
    assert code == 0
    assert emulator_pids
    time.sleep(0.5)
    assert not [pid for pid in emulator_pids if Path(f"/proc/{pid}").exists()
                and "Z" not in (Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0])]
