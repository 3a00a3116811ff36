"""Search shard: one task of a search's array job (AWS Batch on a GPU locally a process-pool task).

``run_shard(index, parameters)`` is the entry point both executors call; ``main()`` is the
container's: the index comes from ``AWS_BATCH_JOB_ARRAY_INDEX`` (absent for a one-shard job) and the
parameters from ``SHARD_PARAM_<NAME>`` variables. The image also runs re-index tasks (``SHARD_ENTRY_POINT``
naming :mod:`functions.search_reindex`): same models, same GPU queue.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from functools import lru_cache

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from chalicelib.adapters.batch import PARAM_PREFIX
from chalicelib.adapters.resources import Resources
from chalicelib.services.search.shard import ShardRunner
from chalicelib.services.search_index.reindex import REINDEX_ENTRY_POINT
from chalicelib.settings import get_settings
from chalicelib.wiring.search import build_shard_runner

logger = Logger(service="search-shard")
metrics = Metrics(namespace="GoldenTime", service="search-shard")


@lru_cache(maxsize=4)
def runner(threads: int | None = None) -> ShardRunner:
    """Built once per worker process: the models load (and warm up) on the first shard only."""
    return build_shard_runner(Resources(get_settings()), threads=threads)


def run_shard(index: int, parameters: dict[str, str]) -> None:
    threads = int(parameters["threads"]) if parameters.get("threads") else None
    result = runner(threads).run(parameters["search_id"], index)
    metrics.add_metric(name="SearchFootageSeconds", unit=MetricUnit.Seconds, value=result.footage_seconds)
    metrics.add_metric(name="SearchPeopleDetected", unit=MetricUnit.Count, value=result.people_detected)
    metrics.flush_metrics()
    logger.info("shard finished", extra={"search_id": result.search_id, "index": index,
                                         "sightings": len(result.sightings), "elapsed_s": result.elapsed_s})


def main(environ: Mapping[str, str] | None = None) -> int:
    env = os.environ if environ is None else environ
    parameters = {k[len(PARAM_PREFIX):].lower(): v for k, v in env.items() if k.startswith(PARAM_PREFIX)}
    index = int(env.get("AWS_BATCH_JOB_ARRAY_INDEX", "0"))
    if env.get("SHARD_ENTRY_POINT") == REINDEX_ENTRY_POINT:  # a re-index job on the same image and queue
        from functions.search_reindex.handler import run_task

        run_task(index, parameters)
        return 0
    if "search_id" not in parameters:
        logger.error("no SHARD_PARAM_SEARCH_ID in the environment")
        return 2
    run_shard(index, parameters)
    return 0


if __name__ == "__main__":
    sys.exit(main())
