"""Control-center alerts: raised once per cause, listed newest first, acknowledged and resolved by an operator.

An alert's id is derived from its cause (``<trip>.<rule>``, ``<incident>.sos``), and the write
refuses to overwrite, so a rule that fires again, a duplicate delivery or a second watchdog run
never raises the same alert twice. Alerts are stored in the records table under the owner
``feed:alerts`` so the by-owner index lists them for the operators. A resolved alert leaves the queue
(the default listing) but keeps its record, with who resolved it, when and the note; each resolution
is written to the audit log.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from chalicelib.errors import ConditionFailed, Conflict, NotFound
from chalicelib.models.alert import Alert, AlertKind, AlertStatus
from chalicelib.models.camera import NearbyCamera
from chalicelib.models.protected import SearchSeed
from chalicelib.models.trip import PositionFix
from chalicelib.ports import Notifier, Table
from chalicelib.services.audit import AuditLog

logger = logging.getLogger(__name__)
ALERT_FEED = "feed:alerts"
_SK = "record"


def _pk(alert_id: str) -> str:
    return f"ALERT#{alert_id}"


class AlertService:
    def __init__(self, table: Table, control_center: Notifier | None = None, audit: AuditLog | None = None) -> None:
        self._table = table
        self._center = control_center
        self._audit = audit

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
        """Newest first; without ``status`` the queue: open and acknowledged alerts (resolved ones left it)."""
        items = self._table.query("owner_id", ALERT_FEED, index="by-owner", descending=True)
        alerts = [_alert(i) for i in items if str(i.get("pk", "")).startswith("ALERT#")]
        if status is not None:
            alerts = [a for a in alerts if a.status is status]
        else:
            alerts = [a for a in alerts if a.status is not AlertStatus.RESOLVED]
        if district is not None:
            alerts = [a for a in alerts if a.district == district]
        return alerts[:limit]

    def ack(self, alert_id: str, operator_id: str, now_ms: int) -> Alert:
        """open → acknowledged, once; acknowledging again (or a resolved alert) answers the same alert."""
        alert = self.get(alert_id)
        if alert.status is not AlertStatus.OPEN:
            return alert
        acked = alert.model_copy(update={"status": AlertStatus.ACKNOWLEDGED, "acked_ms": now_ms,
                                         "acked_by": operator_id})
        self._replace(alert, acked)
        return acked

    def resolve(self, alert_id: str, operator_id: str, now_ms: int, *, note: str | None = None,
                source_ip: str | None = None) -> Alert:
        """open or acknowledged → resolved, once, with who, when and the note; the alert leaves the queue.

        Resolving again answers the alert as it was resolved (the first note stands, nothing is audited
        twice). An open alert is acknowledged by the same operator on the way, so its history is whole.
        """
        alert = self.get(alert_id)
        if alert.status is AlertStatus.RESOLVED:
            return alert
        acked = {} if alert.acked_ms is not None else {"acked_ms": now_ms, "acked_by": operator_id}
        resolved = alert.model_copy(update={
            "status": AlertStatus.RESOLVED, "resolved_at": datetime.fromtimestamp(now_ms / 1000, UTC),
            "resolved_by": operator_id, "resolution_note": note, **acked})
        self._replace(alert, resolved)
        if self._audit is not None:
            self._audit.append("alert.resolved", actor=operator_id, source_ip=source_ip, subject=alert_id,
                               details={"kind": alert.kind.value, "from": alert.status.value, "note": note or ""})
        logger.info("alert resolved", extra={"alert_id": alert_id, "by": operator_id})
        return resolved

    def _replace(self, current: Alert, changed: Alert) -> None:
        """Write ``changed`` only while the stored alert is still in ``current``'s state."""
        item = {**json.loads(changed.model_dump_json()), "pk": _pk(current.alert_id), "sk": _SK,
                "owner_id": ALERT_FEED, "created_ms": current.raised_ms}
        try:
            self._table.put(item, expect={"status": current.status.value})
        except ConditionFailed as exc:
            raise Conflict(f"alert {current.alert_id} changed concurrently; read it again") from exc


def _alert(item: dict[str, object]) -> Alert:
    return Alert.model_validate({k: v for k, v in item.items() if k in Alert.model_fields})
