"""`python -m local serve` as a child process, for tests and benchmarks that restart or kill it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from chalicelib.adapters import aws as aws_clients
from chalicelib.adapters.resources import Resources
from chalicelib.api import context
from chalicelib.settings import get_settings

ROOT = Path(__file__).resolve().parents[1]


def descendants(pid: int) -> list[int]:
    """Every live (non-zombie) process below ``pid``, from /proc."""
    parents: dict[int, int] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z":
            parents[int(proc.name)] = int(fields[1])
    found, frontier = [], [pid]
    while frontier:
        children = [child for child, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


@dataclass
class Served:
    process: subprocess.Popen[str]
    api_url: str
    aws_url: str
    children: list[int]

    def kill_hard(self) -> None:
        self.children = sorted(set(self.children) | set(descendants(self.process.pid)))  # pool workers since start
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> int:
        self.children = sorted(set(self.children) | set(descendants(self.process.pid)))
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=90)


def serve(state_dir: Path, *extra: str, timeout_s: float = 120.0, env: dict[str, str] | None = None) -> Served:
    """Start the platform on free ports with its state under ``state_dir``; returns once it answers."""
    state_dir.mkdir(parents=True, exist_ok=True)
    log = state_dir / "serve.log"
    start = log.stat().st_size if log.exists() else 0
    with open(log, "a") as out:  # a file, not a pipe: nobody reads a pipe after start and it would fill
        process = subprocess.Popen(
            [sys.executable, "-m", "local", "serve", "--state-dir", str(state_dir), "--aws-port", "0",
             "--api-port", "0", "--edge-port", "0", *extra],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, **(env or {}), "PYTHONPATH": str(ROOT)})
    lines: list[str] = []
    deadline = time.monotonic() + timeout_s
    while not any("Ctrl-C" in line for line in lines):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("serve did not come up:\n" + log.read_text()[-3000:])
        time.sleep(0.2)
        lines = log.read_text()[start:].splitlines()
    found = {parts[0]: parts[-1] for parts in (line.split() for line in lines) if len(parts) >= 2}
    return Served(process=process, api_url=found["API"], aws_url=found["AWS"], children=descendants(process.pid))


@pytest.fixture
def against(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Point this process's settings at a served platform's emulator; restore afterwards."""

    def point(served: Served) -> Resources:
        monkeypatch.setenv("AWS_ENDPOINT_URL", served.aws_url)
        monkeypatch.setenv("STAGE", "local")
        forget()
        return Resources(get_settings())

    def forget() -> None:
        get_settings.cache_clear()
        aws_clients.reset_clients()
        context.reset_platform()

    yield point
    monkeypatch.undo()
    forget()
