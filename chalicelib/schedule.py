"""What a scheduled (EventBridge) invocation is about."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent

from chalicelib.clock import now_ms


def slot_ms(event: dict[str, Any]) -> int:
    """The schedule's own time (epoch ms), so a delayed or replayed run judges as of its slot;
    the clock when the event carries none."""
    try:
        return int(datetime.fromisoformat(EventBridgeEvent(event).time.replace("Z", "+00:00")).timestamp() * 1000)
    except (KeyError, TypeError, ValueError, AttributeError):
        return now_ms()
