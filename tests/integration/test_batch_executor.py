"""The local batch executor runs an array job's tasks on a process pool, one call per index."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from local.batch import ProcessPoolBatchExecutor


def write_marker(index: int, parameters: dict[str, str]) -> None:
    """The array task: runs in a worker process."""
    if index == int(parameters.get("fail_index", "-1")):
        raise RuntimeError(f"task {index} failed on purpose")
    Path(parameters["out"], f"{index}.txt").write_text(f"{index} {os.getpid()}")


@pytest.fixture(scope="module")
def executor():
    pool = ProcessPoolBatchExecutor(max_workers=2)
    yield pool
    pool.shutdown()


def test_every_index_runs_once_in_worker_processes(executor, tmp_path):
    job = executor.submit("probe", f"{__name__}.write_marker", 6, {"out": str(tmp_path)})
    status = executor.wait(job, timeout_s=120)
    assert (status.total, status.succeeded, status.failed, status.done) == (6, 6, 0, True)
    outputs = {p.name: p.read_text().split() for p in tmp_path.iterdir()}
    assert sorted(outputs) == [f"{i}.txt" for i in range(6)]
    assert all(pid != str(os.getpid()) for _, pid in outputs.values())


def test_a_failed_task_is_counted_and_the_others_still_run(executor, tmp_path):
    job = executor.submit("probe", f"{__name__}.write_marker", 4, {"out": str(tmp_path), "fail_index": "2"})
    status = executor.wait(job, timeout_s=120)
    assert (status.succeeded, status.failed) == (3, 1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["0.txt", "1.txt", "3.txt"]


def test_an_empty_array_job_is_refused(executor):
    with pytest.raises(ValueError, match="at least one task"):
        executor.submit("probe", f"{__name__}.write_marker", 0, {})
