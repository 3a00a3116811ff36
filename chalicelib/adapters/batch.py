"""BatchExecutor implementations: AWS Batch array jobs (cloud) and the choice between it and the local pool.

Cloud: one array job on the GPU job queue ``gt-<stage>-search`` with the job definition
``gt-<stage>-search-shard`` (infra/stacks/batch.py); each child reads its index from
``AWS_BATCH_JOB_ARRAY_INDEX`` and its parameters from ``SHARD_PARAM_<NAME>`` environment variables
(container overrides), see ``functions/search_shard``.

Local (an emulator endpoint is configured): the local platform hands its own ``spawn`` process pool
over with :func:`use_local_executor` before it serves; nothing here knows ``local/`` (never deployed).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.errors import PermanentError, TransientError
from chalicelib.ports import BatchExecutor, BatchJobStatus
from chalicelib.settings import Settings

PARAM_PREFIX = "SHARD_PARAM_"
LOCAL_POOL_WORKERS = 2


def parameter_env_name(name: str) -> str:
    return PARAM_PREFIX + name.upper().replace("-", "_")


class AwsBatchExecutor:
    """``submit`` = one AWS Batch array job (a plain job for size 1: arrays need at least two children)."""

    def __init__(self, batch_client: Any, *, job_queue: str, job_definition: str) -> None:
        self._batch = batch_client
        self._queue = job_queue
        self._definition = job_definition

    def submit(self, job_name: str, entry_point: str, size: int, parameters: Mapping[str, str]) -> str:
        if size < 1:
            raise ValueError("an array job needs at least one task")
        request: dict[str, Any] = {
            "jobName": job_name[:128], "jobQueue": self._queue, "jobDefinition": self._definition,
            "containerOverrides": {"environment": [
                {"name": "SHARD_ENTRY_POINT", "value": entry_point},
                *({"name": parameter_env_name(k), "value": v} for k, v in parameters.items())]},
        }
        if size > 1:
            request["arrayProperties"] = {"size": size}
        try:
            return str(self._batch.submit_job(**request)["jobId"])
        except ClientError as exc:
            raise TransientError(f"AWS Batch refused the job: {exc}") from exc

    def status(self, job_id: str) -> BatchJobStatus:
        try:
            jobs = self._batch.describe_jobs(jobs=[job_id]).get("jobs", [])
        except ClientError as exc:
            raise TransientError(f"AWS Batch could not describe job {job_id}: {exc}") from exc
        if not jobs:
            raise KeyError(job_id)
        job = jobs[0]
        array = job.get("arrayProperties") or {}
        if "size" in array:
            summary = array.get("statusSummary", {})
            return BatchJobStatus(job_id=job_id, total=int(array["size"]), succeeded=int(summary.get("SUCCEEDED", 0)),
                                  failed=int(summary.get("FAILED", 0)))
        state = job.get("status")
        return BatchJobStatus(job_id=job_id, total=1, succeeded=int(state == "SUCCEEDED"),
                              failed=int(state == "FAILED"))


_lock = threading.Lock()
_local: BatchExecutor | None = None


def use_local_executor(executor: BatchExecutor | None) -> None:
    """The local platform hands over its pool (or ``None`` to forget it)."""
    global _local
    with _lock:
        _local = executor


def _local_executor() -> BatchExecutor:
    with _lock:
        if _local is None:
            raise PermanentError("no batch pool on the emulator: the local platform hands its pool over "
                                 "(use_local_executor) before it serves")
        return _local


def build_batch_executor(settings: Settings, batch_client: Any | None = None) -> BatchExecutor:
    """The local pool when the platform runs on the emulator, AWS Batch otherwise."""
    if settings.aws_endpoint_url is not None and batch_client is None:
        return _local_executor()
    if batch_client is None:
        from chalicelib.adapters import aws

        batch_client = aws.client("batch", settings)
    return AwsBatchExecutor(batch_client, job_queue=f"gt-{settings.stage}-search",
                            job_definition=f"gt-{settings.stage}-search-shard")
