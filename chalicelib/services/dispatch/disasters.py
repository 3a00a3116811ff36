"""Disaster-type events to the disaster situation room: an operator's report (or the disaster room's own
feed, through the same call) becomes a dispatch on the same path as an SOS: signed webhook, receipt, the
unacknowledged alert. Routing by event type (``routing.agency_for_event``); audited."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from chalicelib.models.dispatch import DisasterDispatch, DisasterReport
from chalicelib.services.audit import AuditLog
from chalicelib.services.dispatch.routing import agency_for_event, district_of
from chalicelib.services.dispatch.service import DispatchService
from chalicelib.services.saferet.trips import NearestCameras
from chalicelib.services.texts import district_name, kst, render

_KIND = {"ko": {"flood": "침수", "landslide": "산사태", "earthquake": "지진", "collapse": "붕괴",
                "crowd-crush": "인파 밀집 사고", "heavy-snow": "폭설"}}


class DisasterEvents:
    def __init__(self, agencies: DispatchService, cameras: NearestCameras, audit: AuditLog) -> None:
        self._agencies = agencies
        self._cameras = cameras
        self._audit = audit

    def report(self, operator_id: str, source_ip: str | None, report: DisasterReport, now_ms: int) -> DisasterDispatch:
        event_id = f"dis-{secrets.token_hex(8)}"
        where = report.location
        target = agency_for_event(report.event_type)
        district = district_of(where.lat, where.lon)
        cameras = self._cameras.nearest(where.lat, where.lon, k=5).cameras
        occurred = report.occurred_at or datetime.fromtimestamp(now_ms / 1000, UTC)
        endpoint = self._agencies.endpoint(target)
        lang = endpoint.locale if endpoint is not None else "ko"
        place = (f"{district_name(district.code if district else None, district.name if district else None, lang)} "
                 f"({where.lat:.5f}, {where.lon:.5f})")
        summary = render("disaster-summary", lang, kind=_KIND.get(lang, {}).get(report.event_type, report.event_type),
                         time=kst(int(occurred.timestamp() * 1000), lang), place=place, cameras=len(cameras),
                         district=district_name(district.code if district else None,
                                                district.name if district else None, lang), note=report.note).strip()
        dispatch = DisasterDispatch(event_id=event_id, event_type=report.event_type, agency=target,
                                    district=district.code if district else None, location=where, cameras=cameras,
                                    occurred_at=occurred, reported_at=datetime.fromtimestamp(now_ms / 1000, UTC),
                                    reported_by=operator_id, note=report.note, summary=summary)
        self._agencies.submit(event_id, target, dispatch, subject_owner_id=operator_id,
                              district=dispatch.district, now_ms=now_ms)
        self._audit.append("disaster.reported", actor=operator_id, source_ip=source_ip, subject=event_id,
                           details={"event_type": report.event_type, "agency": target.value,
                                    "district": dispatch.district, "note": report.note})
        return dispatch



