"""The embedded local platform: emulator, API gateway, media edge, event pump, schedules, batch pool.

Handlers run in this process with the same event shapes as in the cloud; settings reach them
through the environment exactly as a Lambda's configuration would.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chalicelib.adapters import aws
from chalicelib.adapters.batch import use_local_executor
from chalicelib.adapters.cloudfront import CloudFrontUrlSigner
from chalicelib.adapters.resources import Resources
from chalicelib.api import context
from chalicelib.catalog import ResourceCatalog, build_catalog
from chalicelib.services.footage import FootageCatalog
from chalicelib.settings import Settings, get_settings
from chalicelib.wiring.video_links import use_live_source
from local.batch import ProcessPoolBatchExecutor
from local.console_site import ConsoleSite
from local.edge_function import ViewerRequestFunction
from local.emulator import Emulator, provision
from local.faults import DuplicateDelivery, FaultInjector
from local.gateway import ApiGateway
from local.keys import PRIVATE_KEY_FILE, ensure_signing_key
from local.lambda_runtime import cold_start, function_name_of, resolve_handler
from local.live_simulator import SimulatedLive, footage_has_live
from local.media_edge import MediaEdge
from local.pump import EventPump, QueueBinding
from local.scheduler import ScheduleBinding, Scheduler, rate_seconds

logger = logging.getLogger(__name__)


@dataclass
class PlatformConfig:
    state_dir: Path = Path(".local")
    stage: str = "local"
    region: str = "ap-northeast-2"
    host: str = "127.0.0.1"
    aws_port: int = 4566
    api_port: int = 8000
    edge_port: int = 8001
    pump_wait_seconds: int = 5  # a message ends the long poll at once; idle queues cost a poll per 5 s (read timeout 10 s)
    batch_workers: int | None = None
    with_schedules: bool = True
    faults: float = 0.0  # share of AWS calls failing transiently; the pump duplicates half that share
    aws_state_dir: Path | None = None  # the emulator's checkpoints and journal; state_dir/aws by default
    extra_env: dict[str, str] = field(default_factory=dict)


class LocalPlatform:
    def __init__(self, config: PlatformConfig | None = None) -> None:
        self.config = config or PlatformConfig()
        self.emulator = Emulator(self.config.host, self.config.aws_port,
                                 state_dir=self.config.aws_state_dir or self.config.state_dir / "aws",
                                 log_file=self.config.state_dir / "emulator.log")
        self.gateway: ApiGateway | None = None
        self.edge: MediaEdge | None = None
        self.pump: EventPump | None = None
        self.scheduler: Scheduler | None = None
        self.batch: ProcessPoolBatchExecutor | None = None
        self._live_epoch_ms = int(time.time() * 1000)
        self._public_pem = b""
        self._private_pem = b""
        self._edge_function: ViewerRequestFunction | None = None
        self.faults: FaultInjector | None = None
        self._environment: dict[str, str] = {}

    @property
    def catalog(self) -> ResourceCatalog:
        return build_catalog(self.config.stage)

    @property
    def api_url(self) -> str:
        assert self.gateway is not None
        return f"http://{self.config.host}:{self.gateway.port}"

    @property
    def console_url(self) -> str:
        return f"{self.api_url}/console/"

    @property
    def edge_url(self) -> str:
        assert self.edge is not None
        return f"http://{self.config.host}:{self.edge.port}"

    def _configure_environment(self) -> Settings:
        state = self.config.state_dir
        state.mkdir(parents=True, exist_ok=True)
        key_pair_id, self._private_pem, self._public_pem = ensure_signing_key(state / "keys")
        env = {
            "STAGE": self.config.stage,
            "AWS_REGION": self.config.region,
            "AWS_DEFAULT_REGION": self.config.region,
            "AWS_ENDPOINT_URL": self.emulator.endpoint_url,
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "MEDIA_EDGE_URL": f"http://{self.config.host}:{self.config.edge_port}",
            "CLOUDFRONT_KEY_PAIR_ID": key_pair_id,
            "SIGNING_KEY_SECRET": str((state / "keys" / PRIVATE_KEY_FILE).resolve()),
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_NAMESPACE": "GoldenTime",
            "WEBHOOK_PRIVATE_TARGETS": "true",  # the agencies' and centers' receivers run on loopback here
            "POWERTOOLS_LOG_LEVEL": os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING"),
            **self.config.extra_env,
        }
        self._environment = env
        return self._apply_environment()

    def _apply_environment(self) -> Settings:
        os.environ.update(self._environment)
        get_settings.cache_clear()
        aws.reset_clients()
        context.reset_platform()
        return get_settings()

    @staticmethod
    def _register_video_models(resources: Resources) -> None:
        """Search and monitoring load their models from the registry, as in the cloud; the
        development copies in ../shared/models are registered when present."""
        from chalicelib.video.models import DETECTOR, SHARED_MODELS, register_video_models

        if (SHARED_MODELS / DETECTOR.file).is_file():
            for manifest in register_video_models(resources.store("models"), SHARED_MODELS):
                logger.info("video model %s registered (%s)", manifest.ref, manifest.role)

    def start(self) -> None:
        self.config.state_dir.mkdir(parents=True, exist_ok=True)
        self.emulator.start()
        settings = self._configure_environment()
        resources = Resources(settings)
        provision(self.catalog, s3=resources.client("s3"), sqs=resources.client("sqs"),
                  dynamodb=resources.client("dynamodb"), sns=resources.client("sns"),
                  secretsmanager=resources.client("secretsmanager"), region=settings.aws_region)
        self._register_video_models(resources)
        if self.config.faults > 0:  # after provisioning: every client built from here on fails on purpose
            self.faults = FaultInjector(self.config.faults)
            self.faults.install()
            aws.reset_clients()
            resources = Resources(settings)

        # Before anything that can submit a search shard (API, sweeper schedule): the stand-in for AWS Batch.
        self.batch = ProcessPoolBatchExecutor(self.config.batch_workers)
        use_local_executor(self.batch)
        use_live_source(footage_has_live)  # the API's live links: cameras the simulator loops

        from app import app  # imported after the environment is set, as Lambda would

        self.gateway = ApiGateway(app, host=self.config.host, port=self.config.api_port, site=ConsoleSite(),
                                  console_origin=settings.console_origin)
        self.gateway.start()
        self.edge = self._build_edge(settings, resources)
        self.edge.start()
        if self.edge.port != self.config.edge_port:  # an ephemeral port (tests): signed links must name it
            self.config.extra_env["MEDIA_EDGE_URL"] = self.edge_url
            settings = self._configure_environment()
        self.pump = EventPump(resources.client("sqs"), self._queue_bindings(resources), region=settings.aws_region,
                              wait_seconds=self.config.pump_wait_seconds,
                              duplicates=DuplicateDelivery(self.config.faults / 2) if self.config.faults > 0 else None)
        self.pump.start()
        if self.config.with_schedules:
            self.scheduler = Scheduler(self._schedule_bindings(), region=settings.aws_region)
            self.scheduler.start()
        logger.info("local platform up: api %s, edge %s, aws %s", self.api_url, self.edge_url,
                    self.emulator.endpoint_url)

    def _build_edge(self, settings: Settings, resources: Resources) -> MediaEdge:
        footage = FootageCatalog(resources.store("footage"), resources.table("footage"),
                                 retention_days=settings.footage_retention_days,
                                 segment_seconds=settings.segment_seconds)

        signer = CloudFrontUrlSigner(settings.cloudfront_key_pair_id, self._private_pem)
        live = SimulatedLive(footage, resources.store("footage"), signer, loop_start_ms=self._live_epoch_ms,
                             window=settings.live_window_segments)

        from chalicelib.adapters.revocations import TableRevocations
        from chalicelib.services.audit import AuditLog
        from chalicelib.services.video_links.edge_audit import EdgeAccessAudit
        # the same viewer-request function CloudFront runs, on the revocation list the API writes
        self._edge_function = ViewerRequestFunction(TableRevocations(resources.table("records")))
        return MediaEdge(routes={"footage": resources.store("footage"), "media": resources.store("media")},
                         public_keys={settings.cloudfront_key_pair_id: self._public_pem}, live=live,
                         viewer_request=self._edge_function,
                         on_access=EdgeAccessAudit(AuditLog(resources.table("audit")), resources.table("records")),
                         host=self.config.host, port=self.config.edge_port)

    def _queue_bindings(self, resources: Resources) -> list[QueueBinding]:
        bindings = []
        sqs = resources.client("sqs")
        for spec in self.catalog.queues.values():
            if spec.consumer is None:
                continue
            cold_start(spec.consumer)
            url = sqs.get_queue_url(QueueName=spec.name)["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            bindings.append(QueueBinding(function_name=function_name_of(spec.consumer), queue_url=url, queue_arn=arn,
                                         handler=resolve_handler(spec.consumer), batch_size=spec.batch_size,
                                         timeout_s=spec.consumer_timeout_s))
        return bindings

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Set aside for code that runs beside the platform in its process (a test under in-process moto): no
        queue batch or schedule reaches a handler inside (one already running finishes first), and the batch
        pool and live source handed to chalicelib are withdrawn. Handlers are module-level singletons
        (BatchProcessor, cached runtimes) that a Lambda container never runs twice at once, and the process
        environment is shared. On leaving, the platform's environment is applied again and every handler
        starts cold: whatever ran meanwhile may have left caches built against another environment."""
        with ExitStack() as held:
            for part in (self.pump, self.scheduler):
                if part is not None:
                    held.enter_context(part.paused())
            use_local_executor(None)
            use_live_source(None)
            try:
                yield
            finally:  # before the pump and the schedules resume
                if self.batch is not None:  # started
                    self._apply_environment()
                    for handler in self._handlers():
                        cold_start(handler)
                    use_local_executor(self.batch)
                    use_live_source(footage_has_live)

    def _handlers(self) -> list[str]:
        """The dotted paths of every handler the pump or the schedules invoke."""
        consumers = [spec.consumer for spec in self.catalog.queues.values() if spec.consumer is not None]
        return consumers + [schedule.handler for schedule in self.catalog.schedules.values()]

    def _schedule_bindings(self) -> list[ScheduleBinding]:
        for schedule in self.catalog.schedules.values():
            cold_start(schedule.handler)
        return [ScheduleBinding(rule_name=s.name, function_name=function_name_of(s.handler),
                                period_s=rate_seconds(s.rate), handler=resolve_handler(s.handler))
                for s in self.catalog.schedules.values()]

    def stop(self) -> None:
        for part in (self.scheduler, self.pump, self.edge, self.gateway):
            if part is not None:
                try:
                    part.stop()
                except Exception:
                    logger.exception("stopping %s", type(part).__name__)
        if self._edge_function is not None:
            self._edge_function.close()
            self._edge_function = None
        if self.batch is not None:
            use_local_executor(None)
            use_live_source(None)
            self.batch.shutdown()
        if self.faults is not None:
            self.faults.uninstall()
        self.emulator.stop()

    def __enter__(self) -> LocalPlatform:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()
