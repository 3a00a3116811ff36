"""Composition root of the missing-person search (API container, reducer, sweeper, shard workers)."""

from __future__ import annotations

import os

from chalicelib.adapters.batch import LOCAL_POOL_WORKERS, build_batch_executor
from chalicelib.adapters.resources import Resources
from chalicelib.models.search import SearchQuery
from chalicelib.ports import BatchExecutor
from chalicelib.services.cameras import CameraRegistry
from chalicelib.services.footage import FootageCatalog
from chalicelib.services.owned import OwnedRecords
from chalicelib.services.search.reducer import SearchReducer
from chalicelib.services.search.running import DeadlinePolicy, RunningSearches
from chalicelib.services.search.service import SearchService
from chalicelib.services.search.shard import SearchPipeline, ShardRunner
from chalicelib.services.search.stages import Stages, load_stages
from chalicelib.services.search.sweeper import SearchSweeper
from chalicelib.services.search_index.indexer import SegmentIndexer, SegmentIndexing
from chalicelib.services.search_index.records import ModelTag
from chalicelib.services.search_index.reindex import Reindexing, ReindexTask
from chalicelib.services.search_index.store import IndexStore
from chalicelib.services.search_index.switch import IndexSwitches
from chalicelib.settings import Settings
from chalicelib.wiring.dispatch import build_agency_dispatch

RECORD_KIND = "SEARCH"


def search_records(resources: Resources) -> OwnedRecords:
    return OwnedRecords(resources.table("records"), RECORD_KIND)


def running_searches(resources: Resources) -> RunningSearches:
    return RunningSearches(resources.table("records"))


def deadline_policy(settings: Settings) -> DeadlinePolicy:
    return DeadlinePolicy(min_s=settings.search_deadline_min_s, per_footage_s=settings.search_deadline_per_footage_s)


def model_stages(resources: Resources, threads: int | None = None) -> Stages:
    """Detector + embedder: weights from the models bucket (``video/…``), else ``../shared/models``."""
    return load_stages(resources.store("models"), threads=threads)


def build_search_service(resources: Resources, cameras: CameraRegistry,
                         executor: BatchExecutor | None = None) -> SearchService:
    settings = resources.settings
    footage = FootageCatalog.from_settings(resources.store("footage"), resources.table("footage"), settings)
    local = settings.aws_endpoint_url is not None
    return SearchService(cameras=cameras, footage=footage, media=resources.store("media"),
                         records=search_records(resources), running=running_searches(resources),
                         executor=executor if executor is not None else build_batch_executor(settings),
                         stages=lambda: model_stages(resources), retention_days=settings.footage_retention_days,
                         deadlines=deadline_policy(settings),
                         # Local pool workers share this machine's cores; a cloud shard has its own GPU host.
                         shard_threads=max(1, (os.cpu_count() or 1) // LOCAL_POOL_WORKERS) if local else None,
                         index=index_store(resources), index_media=resources.store("footage"),
                         index_switches=index_switches(resources),
                         reducer=build_search_reducer(resources))


def build_search_reducer(resources: Resources) -> SearchReducer:
    return SearchReducer(resources.store("media"), search_records(resources), build_agency_dispatch(resources),
                         running=running_searches(resources))


def build_search_sweeper(resources: Resources, executor: BatchExecutor | None = None) -> SearchSweeper:
    """Follows jobs through the same executor the API submits them to (the local pool, or AWS Batch)."""
    return SearchSweeper(search_records(resources), running_searches(resources), build_search_reducer(resources),
                         executor if executor is not None else build_batch_executor(resources.settings))


def build_shard_runner(resources: Resources, threads: int | None = None) -> ShardRunner:
    def pipeline(query: SearchQuery) -> SearchPipeline:
        stages = model_stages(resources, threads)
        return SearchPipeline(query, stages.detector, stages.embedder)

    return ShardRunner(resources.store("footage"), resources.store("media"), pipeline)


def index_store(resources: Resources) -> IndexStore:
    """Index partitions live beside the footage they describe (``search-index/`` in the footage bucket) and
    expire with it."""
    return IndexStore(resources.store("footage"))


def index_switches(resources: Resources) -> IndexSwitches:
    """Cameras kept out of the index, beside it."""
    return IndexSwitches(resources.store("footage"))


def build_segment_indexing(resources: Resources, threads: int | None = None) -> SegmentIndexing:
    stages = model_stages(resources, threads)
    indexer = SegmentIndexer(stages.detector, stages.embedder, ModelTag(stages.embedder.name, stages.embedder_version))
    return SegmentIndexing(resources.store("footage"), index_store(resources), indexer, index_switches(resources))


def build_reindexing(resources: Resources, executor: BatchExecutor | None = None) -> Reindexing:
    """Re-index jobs with the current re-id model, on the executor searches use (local pool, or AWS Batch)."""
    stages = model_stages(resources)
    return Reindexing(resources.store("footage"), index_switches(resources),
                      executor if executor is not None else build_batch_executor(resources.settings),
                      model=ModelTag(stages.embedder.name, stages.embedder_version).slug)


def build_reindex_task(resources: Resources, threads: int | None = None) -> ReindexTask:
    footage = FootageCatalog.from_settings(resources.store("footage"), resources.table("footage"), resources.settings)
    return ReindexTask(resources.store("footage"), footage.segments_covering, build_segment_indexing(resources, threads))
