"""What the Lambda runtime gives a handler: a context object, and handler lookup by dotted path."""

from __future__ import annotations

import importlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Handler = Callable[[dict[str, Any], Any], Any]


@dataclass
class LambdaContext:
    function_name: str
    timeout_s: float = 30.0
    memory_limit_in_mb: int = 1024
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = "/aws/lambda/local"
    log_stream_name: str = "local"
    _started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:ap-northeast-2:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_s - (time.monotonic() - self._started)) * 1000))


def resolve_handler(dotted: str) -> Handler:
    """``functions.xray_reader.handler.lambda_handler`` → the function object."""
    module_name, _, attribute = dotted.rpartition(".")
    handler: Handler = getattr(importlib.import_module(module_name), attribute)
    return handler


def cold_start(dotted: str) -> None:
    """Empty the per-container caches (``lru_cache``d runtimes, clients) of a handler's module, as a new
    Lambda container would start: a platform started in a process where the handler already ran against
    another environment (a test under moto, an earlier platform) must not reuse those clients."""
    module = importlib.import_module(dotted.rpartition(".")[0])
    for value in list(vars(module).values()):
        if callable(getattr(value, "cache_clear", None)):
            value.cache_clear()


def function_name_of(dotted: str) -> str:
    parts = dotted.split(".")
    return parts[1] if len(parts) > 2 and parts[0] == "functions" else parts[-2]
