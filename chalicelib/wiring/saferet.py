"""Composition root of the safe-return services (API container and the functions share it)."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.adapters.resources import Resources
from chalicelib.adapters.sms import EndUserMessagingSms, TableSmsOutbox
from chalicelib.ports import SmsSender
from chalicelib.services.audit import AuditLog
from chalicelib.services.cameras import CameraRegistry
from chalicelib.services.dispatch.disasters import DisasterEvents
from chalicelib.services.dispatch.evidence import EvidenceLinks
from chalicelib.services.dispatch.service import DispatchService
from chalicelib.services.owned import OwnedRecords
from chalicelib.services.saferet.alerts import AlertService
from chalicelib.services.saferet.follow import FollowLinks
from chalicelib.services.saferet.guardians import GuardianSms
from chalicelib.services.saferet.protected import ProtectedPersons
from chalicelib.services.saferet.request_guard import IdempotencyKeys, RateLimiter
from chalicelib.services.saferet.sos import SosService
from chalicelib.services.saferet.trips import DetectionRules, TripService
from chalicelib.wiring.cameras import build_camera_registry
from chalicelib.wiring.dispatch import build_agency_dispatch, control_center_alerts

FOLLOW_LINK_KEY = "follow-link-key"
SOS_PER_MINUTE = 10
"""SOS reports one device may make per minute (a retry with the same Idempotency-Key is free)."""


@dataclass(frozen=True)
class SafeReturn:
    trips: TripService
    sos: SosService
    alerts: AlertService
    keys: IdempotencyKeys
    api_limit: RateLimiter
    sos_limit: RateLimiter
    protected: ProtectedPersons
    agencies: DispatchService
    disasters: DisasterEvents
    follow: FollowLinks | None = None


def build_safe_return(resources: Resources, cameras: CameraRegistry | None = None,
                      rules: DetectionRules | None = None, evidence: EvidenceLinks | None = None) -> SafeReturn:
    settings = resources.settings
    table = resources.table("records")
    registry = cameras or build_camera_registry(resources)
    alerts = control_center_alerts(resources)
    guardians = GuardianSms(resources.topic("guardian-sms"), OwnedRecords(table, "DEVICE"))
    agencies = build_agency_dispatch(resources, alerts, evidence)
    follow = FollowLinks(lambda: resources.secret(FOLLOW_LINK_KEY), settings.public_api_url)
    trips = TripService(table, resources.table("positions"), alerts=alerts, guardians=guardians, cameras=registry,
                        rules=rules, follow=follow)
    sos = SosService(table, cameras=registry, alerts=alerts, guardians=guardians, trips=trips,
                     escalation=resources.queue("sos-escalation"),
                     cancel_window_s=settings.sos_cancel_window_s, evidence=resources.store("media"),
                     agencies=agencies, audit=AuditLog(resources.table("audit")))
    return SafeReturn(trips=trips, sos=sos, alerts=alerts, keys=IdempotencyKeys(table),
                      api_limit=RateLimiter(table, limit=settings.device_requests_per_minute),
                      sos_limit=RateLimiter(table, limit=SOS_PER_MINUTE),
                      protected=ProtectedPersons(table, resources.store("media"), alerts=alerts, cameras=registry),
                      agencies=agencies, disasters=DisasterEvents(agencies, registry, AuditLog(resources.table("audit"))),
                      follow=follow)


def build_sms_sender(resources: Resources) -> SmsSender:
    """End User Messaging SMS when the stage has an origination identity, else the outbox table."""
    settings = resources.settings
    if settings.sms_origination_identity:
        return EndUserMessagingSms(resources.client("pinpoint-sms-voice-v2"), settings.sms_origination_identity,
                                   settings.sms_configuration_set)
    return TableSmsOutbox(resources.table("records"))


def build_evidence_links(resources: Resources) -> EvidenceLinks | None:
    """Signed evidence links for dispatches, where the stage has a URL-signing key."""
    settings = resources.settings
    if not settings.signing_key_secret:
        return None
    from chalicelib.adapters.signing_key import signer_from_settings

    signer = signer_from_settings(settings, lambda: resources.client("secretsmanager"))
    return EvidenceLinks(resources.store("media"), signer, settings.media_edge_url)
