"""Schedules: rate expressions from the catalog call their handlers with an EventBridge event."""

from __future__ import annotations

import functools
import logging
import re
import time
import uuid
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from local.lambda_runtime import Handler, LambdaContext
from local.workers import Workers

logger = logging.getLogger(__name__)
_UNITS = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}


def rate_seconds(expression: str) -> float:
    match = re.fullmatch(r"rate\((\d+) (minutes?|hours?|days?)\)", expression.strip())
    if not match or int(match.group(1)) < 1:
        raise ValueError(f"unsupported schedule expression {expression!r}")
    return int(match.group(1)) * _UNITS[match.group(2)]


def scheduled_event(rule_name: str, region: str, now: datetime | None = None) -> dict[str, Any]:
    moment = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "123456789012", "time": moment, "region": region,
            "resources": [f"arn:aws:events:{region}:123456789012:rule/{rule_name}"], "detail": {}}


@dataclass(frozen=True)
class ScheduleBinding:
    rule_name: str
    function_name: str
    period_s: float
    handler: Handler


class Scheduler:
    """Fires each binding every period (first run after one period, as EventBridge does)."""

    def __init__(self, bindings: list[ScheduleBinding], *, region: str) -> None:
        self._bindings = bindings
        self._region = region
        self._workers = Workers()
        self._stop = self._workers.stopping

    def fire(self, binding: ScheduleBinding) -> Any:
        return binding.handler(scheduled_event(binding.rule_name, self._region),
                               LambdaContext(function_name=binding.function_name))

    def _run(self, binding: ScheduleBinding) -> None:
        next_at = time.monotonic() + binding.period_s
        while not self._stop.wait(max(0.0, next_at - time.monotonic())):
            next_at += binding.period_s
            with self._workers.turn() as go:  # a run due during a pause fires at its end
                if not go:
                    return
                try:
                    self.fire(binding)
                except Exception:
                    logger.exception("scheduled %s failed", binding.function_name)

    def paused(self) -> AbstractContextManager[None]:
        """No schedule fires inside (a run in progress finishes first)."""
        return self._workers.paused()

    def start(self) -> None:
        for binding in self._bindings:
            self._workers.spawn(f"schedule-{binding.rule_name}", functools.partial(self._run, binding))

    def stop(self) -> None:
        self._workers.stop(join_timeout_s=5)
