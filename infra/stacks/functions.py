"""Functions: one Lambda per handler package the catalog names, with its SQS event sources and schedules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from constructs import Construct

from chalicelib.catalog import ResourceCatalog
from infra.constructs.function import DataPlane, GtFunction
from infra.constructs.packaging import Packaging
from infra.plan import FunctionPlan


class FunctionsStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, catalog: ResourceCatalog,
                 plans: tuple[FunctionPlan, ...], plane: DataPlane, bundle: Path, image_context: Path,
                 environment: dict[str, str], out: Path, require_layers: bool, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        packaging = Packaging(self, stage=catalog.stage, out=out, bundle=bundle, image_context=image_context,
                              require_layers=require_layers)
        self.functions: dict[str, lambda_.Function] = {}
        for plan in plans:
            fn = GtFunction(self, plan.construct_id, function_name=plan.name,
                            code=packaging.code_for(plan.profile, plan.handler), profile=plan.profile,
                            timeout_s=plan.timeout_s, environment=environment, plane=plane).function
            for queue in plan.queues:
                fn.add_event_source(sources.SqsEventSource(
                    plane.queues[queue.logical], batch_size=queue.batch_size, report_batch_item_failures=True))
            for schedule in plan.schedules:
                events.Rule(self, f"{plan.construct_id}{schedule.logical.title().replace('-', '')}Schedule",
                            rule_name=schedule.name, schedule=events.Schedule.expression(schedule.rate),
                            targets=[targets.LambdaFunction(fn, retry_attempts=2, max_event_age=Duration.hours(1))])
            self.functions[plan.unit] = fn
