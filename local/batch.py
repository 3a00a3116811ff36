"""The local batch executor: an array job as tasks on a process pool."""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import uuid
from collections.abc import Mapping
from concurrent.futures import Future, ProcessPoolExecutor

from chalicelib.ports import BatchJobStatus
from local.lambda_runtime import resolve_handler
from local.lifecycle import exit_with_parent

logger = logging.getLogger(__name__)


def _run_task(entry_point: str, index: int, parameters: dict[str, str]) -> None:
    resolve_handler(entry_point)(index, parameters)  # type: ignore[arg-type]


class ProcessPoolBatchExecutor:
    """``spawn`` workers: the parent runs server threads, which must not be forked."""

    def __init__(self, max_workers: int | None = None) -> None:
        self._pool = ProcessPoolExecutor(max_workers=max_workers, mp_context=multiprocessing.get_context("spawn"),
                                         initializer=exit_with_parent, initargs=(os.getpid(),))
        self._jobs: dict[str, list[Future[None]]] = {}
        self._lock = threading.Lock()

    def submit(self, job_name: str, entry_point: str, size: int, parameters: Mapping[str, str]) -> str:
        if size < 1:
            raise ValueError("an array job needs at least one task")
        job_id = f"{job_name}-{uuid.uuid4().hex[:8]}"
        futures = [self._pool.submit(_run_task, entry_point, i, dict(parameters)) for i in range(size)]
        with self._lock:
            self._jobs[job_id] = futures
        return job_id

    def status(self, job_id: str) -> BatchJobStatus:
        with self._lock:
            futures = list(self._jobs[job_id])
        done = [f for f in futures if f.done()]
        failed = sum(1 for f in done if f.exception() is not None)
        return BatchJobStatus(job_id=job_id, total=len(futures), succeeded=len(done) - failed, failed=failed)

    def wait(self, job_id: str, timeout_s: float | None = None) -> BatchJobStatus:
        with self._lock:
            futures = list(self._jobs[job_id])
        for future in futures:
            try:
                future.result(timeout=timeout_s)
            except Exception:
                logger.exception("task of %s failed", job_id)
        return self.status(job_id)

    def shutdown(self) -> None:
        """Stop now: queued tasks are cancelled and running ones end with the platform (a stopped
        platform leaves no worker behind)."""
        workers = list((self._pool._processes or {}).values())  # no public handle before Python 3.14
        self._pool.shutdown(wait=False, cancel_futures=True)
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.join(timeout=10)
