"""Where selective monitoring keeps things, all in the shared records table:

* ``MONITOR_RULES#<camera>``: the camera's rule configuration (``CameraRules``), written by the API.
* ``MONITOR_STATE#<camera>``: tracker + rule state + camera-time accounting, with a ``version``
  that every save checks (two workers on one camera: the loser retries from the fresh state).
* ``MONEVENT#<event id>`` under the owner ``feed:monitor-events``: the operator queue. Event ids
  are derived from camera, frame time and rule, and written only if absent, so a retried object
  never raises an event twice.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

from chalicelib.errors import ConditionFailed, Conflict, NotFound, TransientError
from chalicelib.models.selective_monitor import (
    CameraRules,
    CameraRulesRecord,
    EventStatus,
    MonitorEvent,
)
from chalicelib.ports import Table
from chalicelib.services.selective_monitor.priority import NearbyIncident, incidents_near, priority
from chalicelib.services.selective_monitor.rules import CameraState

logger = logging.getLogger(__name__)
EVENT_FEED = "feed:monitor-events"
RULES_FEED = "feed:monitor-rules"
_SK = "record"
SCAN_LIMIT = 1000  # newest events the queue considers

CameraLocator = Callable[[str], "tuple[float, float] | None"]
IncidentSource = Callable[[], Sequence[NearbyIncident]]


class CameraRulesStore:
    def __init__(self, table: Table) -> None:
        self._table = table

    def get(self, camera_id: str) -> CameraRules | None:
        item = self._table.get({"pk": f"MONITOR_RULES#{camera_id}", "sk": _SK})
        return None if item is None else CameraRules.model_validate(item["config"])

    def put(self, camera_id: str, config: CameraRules, *, by: str, now_ms: int) -> CameraRulesRecord:
        record = CameraRulesRecord(camera_id=camera_id, config=config, updated_ms=now_ms, updated_by=by)
        self._table.put({**json.loads(record.model_dump_json()), "pk": f"MONITOR_RULES#{camera_id}", "sk": _SK,
                         "owner_id": RULES_FEED, "created_ms": now_ms})
        return record


class CameraStateStore:
    def __init__(self, table: Table) -> None:
        self._table = table

    def load(self, camera_id: str) -> tuple[CameraState, int]:
        item = self._table.get({"pk": f"MONITOR_STATE#{camera_id}", "sk": _SK})
        if item is None:
            return CameraState(), 0
        return CameraState.from_dict(json.loads(item["state"])), int(item["version"])

    def save(self, camera_id: str, state: CameraState, version: int) -> int:
        """Store ``state`` as ``version + 1``; raises ``TransientError`` when another worker saved first."""
        item = {"pk": f"MONITOR_STATE#{camera_id}", "sk": _SK, "version": version + 1,
                "state": json.dumps(state.to_dict(), separators=(",", ":"))}
        try:
            self._table.put(item, expect={"version": version if version else None})
        except ConditionFailed as exc:
            raise TransientError(f"camera {camera_id}: state changed concurrently, retry") from exc
        return version + 1


def _pk(event_id: str) -> str:
    return f"MONEVENT#{event_id}"


class MonitorEventStore:
    """The operator queue."""

    def __init__(self, table: Table, *, incidents: IncidentSource | None = None,
                 locate: CameraLocator | None = None) -> None:
        self._table = table
        self._incidents = incidents
        self._locate = locate

    def _item(self, event: MonitorEvent) -> dict[str, Any]:
        return {**json.loads(event.model_dump_json()), "pk": _pk(event.event_id), "sk": _SK, "owner_id": EVENT_FEED,
                "created_ms": event.raised_ms}

    def add(self, event: MonitorEvent) -> bool:
        """Store the event; False when it was stored before (a retried object)."""
        try:
            self._table.put(self._item(event), if_absent=True)
        except ConditionFailed:
            return False
        return True

    def get(self, event_id: str) -> MonitorEvent:
        item = self._table.get({"pk": _pk(event_id), "sk": _SK})
        if item is None or item.get("owner_id") != EVENT_FEED:
            raise NotFound(f"no monitor event {event_id}")
        return _event(item)

    def sos_near(self, camera_id: str, now_ms: int) -> list[str]:
        if self._incidents is None:
            return []
        location = self._locate(camera_id) if self._locate is not None else None
        return incidents_near(camera_id, location, self._incidents(), now_ms)

    def queue(self, *, now_ms: int, status: EventStatus | None = None, camera_id: str | None = None,
              limit: int = 50) -> list[MonitorEvent]:
        """Unresolved (or ``status``) events, highest priority first, then newest; priorities are
        recomputed now, so an SOS raised after an event still lifts it."""
        return [event for event, _ in self.located_queue(now_ms=now_ms, status=status, camera_id=camera_id,
                                                         limit=limit)]

    def located_queue(self, *, now_ms: int, status: EventStatus | None = None, camera_id: str | None = None,
                      limit: int = 50) -> list[tuple[MonitorEvent, tuple[float, float] | None]]:
        """The queue, each event with its camera's (lat, lon) (None when unknown), so the map can draw it."""
        items = self._table.query("owner_id", EVENT_FEED, index="by-owner", descending=True, limit=SCAN_LIMIT)
        events = [_event(i) for i in items if str(i.get("pk", "")).startswith("MONEVENT#")]
        wanted = {status} if status is not None else {EventStatus.OPEN, EventStatus.ACKNOWLEDGED}
        events = [e for e in events if e.status in wanted and (camera_id is None or e.camera_id == camera_id)]
        incidents = list(self._incidents()) if self._incidents is not None else []
        located: dict[str, tuple[float, float] | None] = {}
        ranked = []
        for event in events:
            if event.camera_id not in located:
                located[event.camera_id] = self._locate(event.camera_id) if self._locate is not None else None
            near = incidents_near(event.camera_id, located[event.camera_id], incidents, now_ms)
            ranked.append(event.model_copy(update={"sos_incident_ids": near,
                                                   "priority": priority(event.severity, event.score, near)}))
        ranked.sort(key=lambda e: (-e.priority, -e.t_ms, e.event_id))
        return [(event, located[event.camera_id]) for event in ranked[:limit]]

    def _transition(self, event_id: str, allowed_from: set[EventStatus], update: dict[str, Any]) -> MonitorEvent:
        event = self.get(event_id)
        target = update["status"]
        if event.status is target:
            return event  # repeating an ack/resolve answers the same event
        if event.status not in allowed_from:
            raise Conflict(f"monitor event {event_id} is {event.status.value}")
        changed = event.model_copy(update=update)
        try:
            self._table.put(self._item(changed), expect={"status": event.status.value})
        except ConditionFailed as exc:
            raise Conflict(f"monitor event {event_id} changed concurrently") from exc
        return changed

    def ack(self, event_id: str, operator_id: str, now_ms: int) -> MonitorEvent:
        return self._transition(event_id, {EventStatus.OPEN}, {"status": EventStatus.ACKNOWLEDGED,
                                                               "acked_ms": now_ms, "acked_by": operator_id})

    def resolve(self, event_id: str, operator_id: str, now_ms: int, note: str | None = None) -> MonitorEvent:
        event = self.get(event_id)
        acked = {} if event.acked_ms is not None else {"acked_ms": now_ms, "acked_by": operator_id}
        return self._transition(event_id, {EventStatus.OPEN, EventStatus.ACKNOWLEDGED},
                                {"status": EventStatus.RESOLVED, "resolved_ms": now_ms, "resolved_by": operator_id,
                                 "note": note, **acked})


def _event(item: dict[str, Any]) -> MonitorEvent:
    return MonitorEvent.model_validate({k: v for k, v in item.items() if k in MonitorEvent.model_fields})
