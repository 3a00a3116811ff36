"""Derive the deployed functions from the resource catalog: every queue consumer and every schedule handler."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.catalog import QueueSpec, ResourceCatalog, ScheduleSpec
from infra.profiles import FunctionProfile, profile_for

DEFAULT_TIMEOUT_S = 60
VISIBILITY_FACTOR = 6  # AWS guidance: queue visibility timeout at least 6x the consumer's timeout.


class FunctionPlan(BaseModel):
    """One Lambda function: its handler, triggers and profile."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    package: str
    unit: str = Field(description="The package, or <package>_<callable> when a package has several handlers.")
    name: str
    handler: str
    queues: tuple[QueueSpec, ...]
    schedules: tuple[ScheduleSpec, ...]
    profile: FunctionProfile

    @property
    def construct_id(self) -> str:
        return "".join(part.capitalize() for part in self.unit.split("_"))

    @property
    def timeout_s(self) -> int:
        if self.profile.timeout_s is not None:
            return self.profile.timeout_s
        if self.queues:
            return max(q.consumer_timeout_s for q in self.queues)
        return DEFAULT_TIMEOUT_S


def function_package(handler: str) -> str:
    """``functions.sos_escalation.handler.lambda_handler`` -> ``sos_escalation``."""
    parts = handler.split(".")
    if len(parts) < 3 or parts[0] != "functions":
        raise ValueError(f"handler {handler!r} is not functions.<package>.<module>.<callable>")
    return parts[1]


def function_name(stage: str, package: str) -> str:
    return f"gt-{stage}-fn-{package.replace('_', '-')}"


def plan_functions(catalog: ResourceCatalog) -> tuple[FunctionPlan, ...]:
    """One function per handler, in a stable order, with all of its triggers.

    A handler named by several queues/schedules is one function with several triggers. Two handlers in the same
    package become two functions, named after ``<package>_<callable>``.
    """
    queues: dict[str, list[QueueSpec]] = {}
    schedules: dict[str, list[ScheduleSpec]] = {}
    for queue in catalog.queues.values():
        if queue.consumer:
            queues.setdefault(queue.consumer, []).append(queue)
    for schedule in catalog.schedules.values():
        schedules.setdefault(schedule.handler, []).append(schedule)
    handlers = sorted(set(queues) | set(schedules))
    packages = [function_package(handler) for handler in handlers]
    plans = []
    for handler, package in zip(handlers, packages, strict=True):
        unit = package if packages.count(package) == 1 else f"{package}_{handler.rsplit('.', 1)[1]}"
        plans.append(FunctionPlan(
            package=package, unit=unit, name=function_name(catalog.stage, unit), handler=handler,
            queues=tuple(queues.get(handler, ())), schedules=tuple(schedules.get(handler, ())),
            profile=profile_for(package),
        ))
    return tuple(plans)


def queue_visibility_s(queue: QueueSpec, plans: tuple[FunctionPlan, ...]) -> int:
    """The catalog's visibility timeout, raised to 6x the consuming function's timeout when that is longer."""
    consumer_timeouts = [plan.timeout_s for plan in plans if queue in plan.queues] + [queue.consumer_timeout_s]
    if queue.consumer is None:
        return queue.visibility_timeout_s
    return max(queue.visibility_timeout_s, VISIBILITY_FACTOR * max(consumer_timeouts))
