"""SOS incidents: created at once with the nearest cameras, cancellable inside a window, then
escalated to 112 exactly once.

Escalation is a state machine on the incident record, moved only by conditional writes:
``pending → cancelled`` (the citizen, before the deadline) or ``pending → escalated`` (whoever
comes first after it: the delayed escalation message, the watchdog, a late cancel). Only the
caller whose write won sends the 112 dispatch message, the control-center alert and the guardian
messages, so duplicate deliveries and concurrent workers do nothing. If the winner dies before
it recorded ``dispatched_ms``, the claim expires after ``claim_lease_s`` and the next delivery
re-claims it (conditional on the old claim) and sends again: the 112 message carries the
incident id as its de-duplication key for that rare case.

Every write after creation is an update of the attributes it changes, conditional on the state it read,
and bumps the record's ``rev``: a hand-over (which changes only ``control_center``) and an escalation never
undo each other, and the operators' feed copy only ever moves to a newer ``rev``.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from typing import Any

from chalicelib.errors import ConditionFailed, Conflict, NotFound, TransientError, ValidationFailed
from chalicelib.models.alert import AlertKind
from chalicelib.models.device import Device
from chalicelib.models.dispatch import AgencyTarget
from chalicelib.models.sos import (
    Dispatch112,
    EscalationRequest,
    EvidenceRequest,
    EvidenceUpload,
    HandoverRequest,
    Incident,
    IncidentStatus,
    SosRequest,
    TripContext,
)
from chalicelib.models.trip import PositionFix
from chalicelib.ports import MessageQueue, ObjectStore, Table
from chalicelib.services.audit import AuditLog
from chalicelib.services.dispatch.routing import agency_for, district_of
from chalicelib.services.dispatch.service import DispatchService
from chalicelib.services.owned import OwnedRecords
from chalicelib.services.saferet.alerts import AlertService
from chalicelib.services.saferet.guardians import GuardianSms
from chalicelib.services.saferet.trips import NearestCameras, TripService
from chalicelib.services.texts import DISTRICT_KO, agency_text, district_name, kind_text, kst, render

DEFAULT_ACCURACY_M = 20.0  # what a phone that reports none is assumed to have

logger = logging.getLogger(__name__)
INCIDENT_FEED = "feed:incidents"
PENDING_SOS = "feed:pending-sos"
SQS_MAX_DELAY_S = 900
EVIDENCE_PHOTO_BYTES = 10_000_000
EVIDENCE_VIDEO_BYTES = 100_000_000
EVIDENCE_UPLOAD_S = 900
_SK = "record"


class SosService:
    def __init__(self, table: Table, *, cameras: NearestCameras, alerts: AlertService, guardians: GuardianSms,
                 trips: TripService, escalation: MessageQueue, cancel_window_s: int,
                 evidence: ObjectStore | None = None, claim_lease_s: int = 30,
                 camera_radius_m: float = 3000.0, agencies: DispatchService,
                 audit: AuditLog | None = None) -> None:
        self._table = table
        self._records = OwnedRecords(table, "INCIDENT")
        self._cameras = cameras
        self._alerts = alerts
        self._guardians = guardians
        self._trips = trips
        self._escalation = escalation
        self.cancel_window_s = cancel_window_s
        self._lease_ms = claim_lease_s * 1000
        self._radius_m = camera_radius_m
        self._evidence = evidence
        self._agencies = agencies
        self._audit = audit

    # -- reads
    def get(self, incident_id: str, owner_id: str | None) -> Incident:
        return _incident(self._records.get(incident_id, owner_id))

    def recent(self, *, status: IncidentStatus | None = None, limit: int = 100,
               district: str | None = None) -> list[Incident]:
        filtered = status is not None or district is not None
        items = self._table.query("owner_id", INCIDENT_FEED, index="by-owner", descending=True,
                                  limit=None if filtered else limit)
        incidents = [_incident(i["incident"]) for i in items if "incident" in i]
        if status is not None:
            incidents = [i for i in incidents if i.status is status]
        if district is not None:
            incidents = [i for i in incidents if control_center(i) == district]
        return incidents[:limit]

    def due(self, now_ms: int) -> list[str]:
        """Pending incidents whose cancel deadline has passed (for the watchdog): every marker, page by
        page, so no number of markers can hide a new one from the backstop."""
        items = self._table.query("owner_id", PENDING_SOS, index="by-owner", sort_between=(0, now_ms))
        return [str(i["incident_id"]) for i in items if "incident_id" in i]

    # -- writes
    def create(self, owner_id: str, incident_id: str, request: SosRequest, now_ms: int) -> Incident:
        """Record the incident and tell the control center at once; an existing id answers the
        stored incident (idempotent retries), and a retry never leaves a watchdog marker behind."""
        with contextlib.suppress(NotFound):
            return self.get(incident_id, owner_id)  # a replay: nothing to write
        window_s = self.cancel_window_s if request.cancel_window_s is None \
            else min(request.cancel_window_s, self.cancel_window_s)
        trip_context, device_id = None, request.device_id
        if request.trip_id is not None:
            trip = self._trips.get(request.trip_id, owner_id)  # 404 for another owner's trip
            trip_context = TripContext(trip_id=trip.trip_id, origin=trip.origin, destination=trip.destination,
                                       started_ms=trip.started_ms, expected_arrival_ms=trip.expected_arrival_ms,
                                       last_fix=trip.last_fix)
            device_id = device_id or trip.device_id
        device = None if device_id is None else self._guardians.device(device_id, owner_id)  # 404: another owner's
        where = request.location
        cameras = self._cameras.nearest(where.lat, where.lon, k=5, radius_m=self._radius_m).cameras
        district = district_of(where.lat, where.lon)
        incident = Incident(incident_id=incident_id, owner_id=owner_id, status=IncidentStatus.PENDING,
                            kind=request.kind, trigger=request.trigger, agency=agency_for(request.kind).value,
                            district=district, control_center=district.code if district else None,
                            device_id=device_id, trip=trip_context,
                            cameras=cameras,
                            location=PositionFix(t_ms=now_ms, lat=where.lat, lon=where.lon,
                                                 accuracy_m=where.accuracy_m or DEFAULT_ACCURACY_M),
                            created_ms=now_ms, cancel_deadline_ms=now_ms + window_s * 1000)
        # the watchdog's marker goes first, so even a crash right after the record is written is caught
        self._put_marker(incident)
        if window_s == 0:
            return self._create_escalated(incident, now_ms, device)
        try:
            self._records.create(incident_id, owner_id, incident.model_dump(mode="json"), created_ms=now_ms)
        except Conflict:
            return self._settle_marker(self.get(incident_id, owner_id))  # a concurrent retry won
        self._announce(incident, window_s, now_ms)
        message = EscalationRequest(incident_id=incident_id, cancel_deadline_ms=incident.cancel_deadline_ms)
        self._escalation.send(message.model_dump_json(), delay_s=min(window_s, SQS_MAX_DELAY_S))
        return incident

    def _create_escalated(self, incident: Incident, now_ms: int, device: Device | None) -> Incident:
        """No window: the record is born escalated and claimed (one conditional write), and the
        112 message is the very next call; everything else follows it."""
        claimed = incident.model_copy(update={"status": IncidentStatus.ESCALATED, "escalated_ms": now_ms})
        try:
            self._records.create(incident.incident_id, incident.owner_id,
                                 {**claimed.model_dump(mode="json"), "claim_ms": now_ms}, created_ms=now_ms)
        except Conflict:
            return self._settle_marker(self.get(incident.incident_id, incident.owner_id))
        try:
            done = self._fan_out(claimed, now_ms, device)
        except TransientError:
            logger.exception("inline dispatch of %s failed; the escalation queue retries it", incident.incident_id)
            retry = EscalationRequest(incident_id=incident.incident_id, cancel_deadline_ms=incident.cancel_deadline_ms)
            self._escalation.send(retry.model_dump_json(), delay_s=self._lease_ms // 1000)
            return claimed
        self._announce(done, 0, now_ms, feed=False)  # _fan_out published it
        return done

    def _announce(self, incident: Incident, window_s: int, now_ms: int, *, feed: bool = True) -> None:
        """The control center hears of every SOS at once, with its cameras."""
        if feed:
            self._publish_feed(incident, rev=0)
        self._alerts.raise_alert(f"{incident.incident_id}.sos", AlertKind.SOS, subject_owner_id=incident.owner_id,
                                 reason=f"SOS ({incident.kind.value}); escalates to {incident.agency} unless "
                                        f"cancelled in {window_s} s",
                                 now_ms=now_ms, last_position=incident.location, cameras=incident.cameras,
                                 incident_id=incident.incident_id, district=_district_code(incident),
                                 trip_id=incident.trip.trip_id if incident.trip else None)

    def hand_over(self, incident_id: str, request: HandoverRequest, *, operator_id: str, source_ip: str | None,
                  now_ms: int) -> Incident:
        """Another district's control center takes the incident (its operators see it first from now on).

        One conditional update of ``control_center`` on the owner read (and on ``from_district`` when the
        operator names the owner they saw): of two concurrent hand-overs exactly one wins and the other is a
        409 that names the new owner. Audited: who, from which center to which, when, why."""
        if request.district not in DISTRICT_KO:
            raise ValidationFailed(f"no district {request.district}")
        incident = self.get(incident_id, None)
        owner = control_center(incident)
        if request.from_district is not None and request.from_district != owner:
            raise Conflict(f"incident {incident_id} is with control center {owner}, not {request.from_district}")
        if owner == request.district:
            raise Conflict(f"incident {incident_id} is already with control center {owner}")
        try:
            item = self._table.update(self._key(incident_id), {"control_center": request.district},
                                      expect={"control_center": incident.control_center}, counter="rev")
        except ConditionFailed as exc:
            now_with = control_center(self.get(incident_id, None))
            raise Conflict(f"incident {incident_id} was handed over meanwhile; it is with {now_with}") from exc
        moved = _incident(item)
        self._publish_feed(moved, rev=int(item["rev"]))
        if self._audit is not None:
            self._audit.append("incident.handed-over", actor=operator_id, source_ip=source_ip, subject=incident_id,
                               details={"from": owner, "to": request.district, "reason": request.reason,
                                        "at_ms": now_ms, "rev": int(item["rev"])})
        logger.info("incident handed over", extra={"incident_id": incident_id, "from": owner,
                                                   "to": request.district, "by": operator_id})
        return moved

    def evidence_upload(self, owner_id: str, incident_id: str, request: EvidenceRequest, now_ms: int) -> EvidenceUpload:
        """A size-capped presigned upload for a photo or video of the owner's incident."""
        self.get(incident_id, owner_id)  # 404 for another owner's incident
        if self._evidence is None:
            raise Conflict("evidence uploads are not configured")
        large = request.content_type.startswith(("video/", "audio/"))
        extension = {"image/jpeg": "jpg", "image/png": "png", "video/mp4": "mp4", "audio/mp4": "m4a",
                     "audio/mpeg": "mp3"}[request.content_type]
        key = f"{evidence_prefix(incident_id)}{now_ms}-{secrets.token_hex(4)}.{extension}"
        max_bytes = EVIDENCE_VIDEO_BYTES if large else EVIDENCE_PHOTO_BYTES
        post = self._evidence.presigned_post(key, max_bytes=max_bytes, expires_s=EVIDENCE_UPLOAD_S,
                                             content_type=request.content_type)
        return EvidenceUpload(url=post.url, fields=post.fields, key=key, max_bytes=max_bytes,
                              expires_s=EVIDENCE_UPLOAD_S)

    def cancel(self, owner_id: str, incident_id: str, now_ms: int) -> Incident:
        incident = self.get(incident_id, owner_id)
        if incident.status is IncidentStatus.CANCELLED:
            return incident
        if incident.status is IncidentStatus.PENDING and now_ms >= incident.cancel_deadline_ms:
            self.escalate(incident_id, now_ms)  # the window closed: make sure help is on its way
            incident = self.get(incident_id, owner_id)
        if incident.status is IncidentStatus.ESCALATED:
            raise Conflict(f"incident {incident_id} was already escalated to 112")
        cancelled = incident.model_copy(update={"status": IncidentStatus.CANCELLED, "cancelled_ms": now_ms})
        try:
            cancelled, rev = self._put(cancelled, expect={"status": IncidentStatus.PENDING.value})
        except ConditionFailed:
            return self.cancel(owner_id, incident_id, now_ms)  # it moved on meanwhile: judge again
        self._delete_marker(incident_id)
        self._publish_feed(cancelled, rev=rev)
        return cancelled

    def escalate(self, incident_id: str, now_ms: int) -> Incident | None:
        """Escalate a pending incident whose window has closed; ``None`` when there is nothing to do
        (cancelled, escalated already, or claimed by a concurrent worker)."""
        item = self._table.get(self._key(incident_id))
        if item is None:
            logger.warning("escalation for unknown incident %s (its creation failed)", incident_id)
            self._delete_marker(incident_id)
            return None
        incident, claim_ms = _incident(item), int(item.get("claim_ms", 0))  # one read: the claim judged is the one held
        if incident.status is IncidentStatus.PENDING:
            if now_ms < incident.cancel_deadline_ms:
                remaining_s = -(-(incident.cancel_deadline_ms - now_ms) // 1000)
                self._escalation.send(EscalationRequest(incident_id=incident_id,
                                                        cancel_deadline_ms=incident.cancel_deadline_ms)
                                      .model_dump_json(), delay_s=min(int(remaining_s), SQS_MAX_DELAY_S))
                return None  # early (clock skew): try again when the window has closed
            expect: dict[str, Any] = {"status": IncidentStatus.PENDING.value}
        elif incident.status is IncidentStatus.ESCALATED and incident.dispatched_ms is None \
                and incident.escalated_ms is not None and now_ms - claim_ms >= self._lease_ms:
            expect = {"status": IncidentStatus.ESCALATED.value, "claim_ms": claim_ms}
        else:
            self._settle_marker(incident)  # a marker left by an older version or a lost race
            return None
        claimed = incident.model_copy(update={"status": IncidentStatus.ESCALATED,
                                              "escalated_ms": incident.escalated_ms or now_ms})
        try:
            claimed, _ = self._put(claimed, expect=expect, claim_ms=now_ms)
        except ConditionFailed:
            return None  # somebody else cancelled or claimed it first
        return self._fan_out(claimed, now_ms)

    # -- internals
    def _fan_out(self, incident: Incident, now_ms: int, device: Device | None = None) -> Incident:
        assert incident.escalated_ms is not None
        dispatch = Dispatch112(incident_id=incident.incident_id, kind=incident.kind, trigger=incident.trigger,
                               agency=incident.agency, district=incident.district, location=incident.location,
                               cameras=incident.cameras, trip=incident.trip, reported_ms=incident.created_ms,
                               escalated_ms=incident.escalated_ms, caller_principal=incident.owner_id,
                               evidence_prefix=evidence_prefix(incident.incident_id),
                               summary=self._summary(incident))
        # the agency's webhook (through the agency-dispatch queue) is what sends help: the one dispatch path
        message_id = self._agencies.submit(incident.incident_id, AgencyTarget(incident.agency),
                                           dispatch, subject_owner_id=incident.owner_id,
                                           district=_district_code(incident), now_ms=now_ms)
        done, rev = incident.model_copy(update={"dispatched_ms": now_ms, "dispatch_message_id": message_id}), 0
        try:
            done, rev = self._put(done, expect={"status": IncidentStatus.ESCALATED.value, "claim_ms": now_ms},
                                  claim_ms=now_ms)
        except ConditionFailed:
            logger.warning("claim on %s was taken over while dispatching", incident.incident_id)
        self._delete_marker(incident.incident_id)
        self._publish_feed(done, rev=rev)
        self._alerts.raise_alert(f"{incident.incident_id}.escalated", AlertKind.SOS_ESCALATED,
                                 subject_owner_id=incident.owner_id,
                                 reason=f"SOS not cancelled: dispatched to {incident.agency}",
                                 now_ms=now_ms, last_position=incident.location, cameras=incident.cameras,
                                 incident_id=incident.incident_id, district=_district_code(incident),
                                 trip_id=incident.trip.trip_id if incident.trip else None)
        self._guardians.notify(incident.device_id, "sos-escalated",
                               lambda lang: render("sos-escalated", lang, time=kst(incident.created_ms, lang),
                                                   kind=kind_text(incident.kind.value, lang),
                                                   agency=agency_text(incident.agency, lang),
                                                   place=_place(incident, lang)),
                               context={"incident_id": incident.incident_id,
                                        "location": incident.location.model_dump()}, device=device)
        logger.info("sos escalated", extra={"incident_id": incident.incident_id, "message_id": message_id})
        return done

    def _summary(self, incident: Incident) -> str:
        """The dispatcher's one line, in the receiving agency's language."""
        endpoint = self._agencies.endpoint(AgencyTarget(incident.agency))
        lang = endpoint.locale if endpoint is not None else "ko"
        district = incident.district
        return render("dispatch-summary", lang, kind=kind_text(incident.kind.value, lang),
                      time=kst(incident.created_ms, lang), place=_place(incident, lang), cameras=len(incident.cameras),
                      district=district_name(district.code if district else None,
                                             district.name if district else None, lang))

    def _put_marker(self, incident: Incident) -> None:
        self._table.put({"pk": f"PENDING#SOS#{incident.incident_id}", "sk": "marker", "owner_id": PENDING_SOS,
                         "created_ms": incident.cancel_deadline_ms, "incident_id": incident.incident_id})

    def _delete_marker(self, incident_id: str) -> None:
        self._table.delete({"pk": f"PENDING#SOS#{incident_id}", "sk": "marker"})

    def _settle_marker(self, incident: Incident) -> Incident:
        """A marker exactly while the incident still needs the backstop: pending, or escalated and not
        yet dispatched (its claim may expire); none once it is cancelled or dispatched."""
        if incident.status is IncidentStatus.PENDING or (
                incident.status is IncidentStatus.ESCALATED and incident.dispatched_ms is None):
            self._put_marker(incident)
        else:
            self._delete_marker(incident.incident_id)
        return incident

    @staticmethod
    def _key(incident_id: str) -> dict[str, str]:
        return {"pk": f"INCIDENT#{incident_id}", "sk": _SK}

    def _put(self, incident: Incident, *, expect: dict[str, Any],
             claim_ms: int | None = None) -> tuple[Incident, int]:
        """Update the incident's state (never ``control_center``: hand-overs own it) if ``expect`` holds;
        answers the record as written and its ``rev``."""
        changes = incident.model_dump(mode="json", exclude={"control_center"})
        if claim_ms is not None:
            changes["claim_ms"] = claim_ms
        item = self._table.update(self._key(incident.incident_id), changes, expect=expect, counter="rev")
        return _incident(item), int(item["rev"])

    def _publish_feed(self, incident: Incident, *, rev: int) -> None:
        """The operators' copy, never replaced by an older state than it holds."""
        with contextlib.suppress(ConditionFailed):
            self._table.update({"pk": f"FEED#INCIDENT#{incident.incident_id}", "sk": "feed"},
                               {"owner_id": INCIDENT_FEED, "created_ms": incident.created_ms,
                                "incident": incident.model_dump(mode="json"), "rev": rev},
                               create=True, unless_newer=("rev", rev))


def control_center(incident: Incident) -> str | None:
    """The district control center handling the incident (older records: where it happened)."""
    return incident.control_center or (incident.district.code if incident.district else None)


def _place(incident: Incident, lang: str) -> str:
    district = incident.district
    name = district_name(district.code if district else None, district.name if district else None, lang)
    return f"{name} ({incident.location.lat:.5f}, {incident.location.lon:.5f})"


def _district_code(incident: Incident) -> str | None:
    return None if incident.district is None else incident.district.code


def evidence_prefix(incident_id: str) -> str:
    return f"sos/{incident_id}/"


def _incident(body: dict[str, Any]) -> Incident:
    return Incident.model_validate({k: v for k, v in body.items() if k in Incident.model_fields})
