"""Control-center alerts: raised once per cause, listed newest first, acknowledged by an operator.

An alert's id is derived from its cause (``<trip>.<rule>``, ``<incident>.sos``), and the write
refuses to overwrite, so a rule that fires again, a duplicate delivery or a second watchdog run
never raises the same alert twice. Alerts are stored in the records table under the owner
``feed:alerts`` so the by-owner index lists them for the operators.
"""

from __future__ import annotations

import json
import logging

from chalicelib.errors import ConditionFailed, Conflict, NotFound
from chalicelib.models.alert import Alert, AlertKind, AlertStatus
from chalicelib.models.camera import NearbyCamera
from chalicelib.models.protected import SearchSeed
from chalicelib.models.trip import PositionFix
from chalicelib.ports import Notifier, Table

logger = logging.getLogger(__name__)
ALERT_FEED = "feed:alerts"
_SK = "record"


def _pk(alert_id: str) -> str:
    return f"ALERT#{alert_id}"


class AlertService:
    def __init__(self, table: Table, control_center: Notifier | None = None) -> None:
        self._table = table
        self._center = control_center

    def raise_alert(self, alert_id: str, kind: AlertKind, *, subject_owner_id: str, reason: str, now_ms: int,
                    last_position: PositionFix | None = None, cameras: list[NearbyCamera] | None = None,
                    trip_id: str | None = None, incident_id: str | None = None,
                    search: SearchSeed | None = None, district: str | None = None) -> Alert | None:
        """Raise the alert; ``None`` when an alert with this id was raised before (nothing is sent)."""
        alert = Alert(alert_id=alert_id, kind=kind, subject_owner_id=subject_owner_id, reason=reason[:500],
                      last_position=last_position, cameras=cameras or [], raised_ms=now_ms, trip_id=trip_id,
                      incident_id=incident_id, search=search, district=district)
        item = {**alert.model_dump(mode="json"), "pk": _pk(alert_id), "sk": _SK, "owner_id": ALERT_FEED,
                "created_ms": now_ms}
        try:
            self._table.put(item, if_absent=True)
        except ConditionFailed:
            return None
        if self._center is not None:
            self._center.publish(alert.model_dump_json(), subject=f"{kind.value} alert",
                                 attributes={"kind": kind.value, "alert_id": alert_id})
        logger.info("alert raised", extra={"alert_id": alert_id, "kind": kind.value})
        return alert

    def get(self, alert_id: str) -> Alert:
        item = self._table.get({"pk": _pk(alert_id), "sk": _SK})
        if item is None or item.get("owner_id") != ALERT_FEED:
            raise NotFound(f"no alert {alert_id}")
        return _alert(item)

    def recent(self, *, status: AlertStatus | None = None, limit: int = 100,
               district: str | None = None) -> list[Alert]:
        filtered = status is not None or district is not None
        items = self._table.query("owner_id", ALERT_FEED, index="by-owner", descending=True,
                                  limit=None if filtered else limit)
        alerts = [_alert(i) for i in items if str(i.get("pk", "")).startswith("ALERT#")]
        if status is not None:
            alerts = [a for a in alerts if a.status is status]
        if district is not None:
            alerts = [a for a in alerts if a.district == district]
        return alerts[:limit]

    def ack(self, alert_id: str, operator_id: str, now_ms: int) -> Alert:
        """open → acknowledged, once; acknowledging again answers the same alert."""
        alert = self.get(alert_id)
        if alert.status is AlertStatus.ACKNOWLEDGED:
            return alert
        acked = alert.model_copy(update={"status": AlertStatus.ACKNOWLEDGED, "acked_ms": now_ms,
                                         "acked_by": operator_id})
        item = {**json.loads(acked.model_dump_json()), "pk": _pk(alert_id), "sk": _SK, "owner_id": ALERT_FEED,
                "created_ms": alert.raised_ms}
        try:
            self._table.put(item, expect={"status": AlertStatus.OPEN.value})
        except ConditionFailed as exc:
            raise Conflict(f"alert {alert_id} was acknowledged concurrently") from exc
        return acked


def _alert(item: dict[str, object]) -> Alert:
    return Alert.model_validate({k: v for k, v in item.items() if k in Alert.model_fields})
