"""S3 (searches/<id>/shards/<n>/done.json) → SQS → reducer: when every shard of a search is in,
merge, rank, build the route, store the result and send it to 112 (exactly once: the search
record's conditional running → done change elects one reducer)."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from chalicelib.adapters.resources import Resources
from chalicelib.errors import NotFound
from chalicelib.s3_events import s3_objects
from chalicelib.services.search.reducer import SearchReducer
from chalicelib.settings import get_settings
from chalicelib.wiring.search import build_search_reducer

logger = Logger(service="search-reducer")
metrics = Metrics(namespace="GoldenTime", service="search-reducer")
tracer = Tracer(service="search-reducer")
processor = BatchProcessor(event_type=EventType.SQS)
DONE_KEY = re.compile(r"^searches/(?P<search_id>(srch-)?[0-9a-f]{8,64})/shards/\d+/done\.json$")  # bare: before ids had a prefix


@lru_cache(maxsize=1)
def reducer() -> SearchReducer:
    return build_search_reducer(Resources(get_settings()))


def searches_of(record: SQSRecord) -> list[str]:
    found = []
    for obj in s3_objects(record):
        match = DONE_KEY.match(obj.key)
        if match is None:
            logger.warning("not a shard done marker", extra={"key": obj.key})
            continue
        found.append(match["search_id"])
    return found


@tracer.capture_method
def record_handler(record: SQSRecord) -> None:
    for search_id in dict.fromkeys(searches_of(record)):
        try:
            answer = reducer().on_shard_done(search_id)
        except NotFound:
            logger.warning("shard of an unknown search", extra={"search_id": search_id})
            continue
        if answer is not None:
            metrics.add_metric(name="SearchesCompleted", unit=MetricUnit.Count, value=1)
            metrics.add_metric(name="SearchHits", unit=MetricUnit.Count, value=len(answer.hits))


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor,
                                    context=context)
