"""Re-index task: one task of a re-index array job (AWS Batch on the search shard's image, a process-pool task
locally). ``run_task(index, parameters)`` is the entry point both executors call; the shard container's
``main`` dispatches here when ``SHARD_ENTRY_POINT`` names it.
"""

from __future__ import annotations

from functools import lru_cache

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from chalicelib.adapters.resources import Resources
from chalicelib.services.search_index.reindex import ReindexTask
from chalicelib.settings import get_settings
from chalicelib.wiring.search import build_reindex_task

logger = Logger(service="search-reindex")
metrics = Metrics(namespace="GoldenTime", service="search-reindex")


@lru_cache(maxsize=4)
def task(threads: int | None = None) -> ReindexTask:
    """Built once per worker process: the models load (and warm up) on the first task only."""
    return build_reindex_task(Resources(get_settings()), threads=threads)


def run_task(index: int, parameters: dict[str, str]) -> None:
    threads = int(parameters["threads"]) if parameters.get("threads") else None
    redone = task(threads).run(parameters["job_id"], index)
    metrics.add_metric(name="CameraHoursReindexed", unit=MetricUnit.Count, value=redone)
    metrics.flush_metrics()
    logger.info("re-index task finished", extra={"job_id": parameters["job_id"], "index": index,
                                                 "camera_hours": redone})
