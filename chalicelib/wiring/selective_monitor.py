"""Composition root of selective monitoring's queue side (API container and the monitor worker share it)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from chalicelib.adapters.resources import Resources
from chalicelib.clock import now_ms
from chalicelib.errors import AppError
from chalicelib.models.sos import IncidentStatus
from chalicelib.services.cameras import CameraRegistry
from chalicelib.services.saferet.sos import SosService
from chalicelib.services.selective_monitor.priority import SOS_ACTIVE_S, NearbyIncident
from chalicelib.services.selective_monitor.store import CameraRulesStore, MonitorEventStore
from chalicelib.wiring.cameras import build_camera_registry


@dataclass(frozen=True)
class Monitoring:
    events: MonitorEventStore
    rules: CameraRulesStore


def active_incidents(sos: SosService) -> Callable[[], list[NearbyIncident]]:
    """The safe-return service's SOS incidents that are still active (not cancelled, recent)."""

    def incidents() -> list[NearbyIncident]:
        now = now_ms()
        found = []
        for incident in sos.recent(limit=200):
            if incident.status is IncidentStatus.CANCELLED or now - incident.created_ms > SOS_ACTIVE_S * 1000:
                continue
            found.append(NearbyIncident(incident_id=incident.incident_id, lat=incident.location.lat,
                                        lon=incident.location.lon, created_ms=incident.created_ms,
                                        camera_ids=frozenset(c.camera.camera_id for c in incident.cameras)))
        return found

    return incidents


def camera_locator(cameras: CameraRegistry) -> Callable[[str], tuple[float, float] | None]:
    def locate(camera_id: str) -> tuple[float, float] | None:
        try:
            camera = cameras.get(camera_id)
        except AppError:
            return None
        return camera.lat, camera.lon

    return locate


def build_monitoring(resources: Resources, cameras: CameraRegistry | None = None,
                     sos: SosService | None = None) -> Monitoring:
    """``sos`` defaults to a safe-return service of its own (the worker); the API passes its own."""
    registry = cameras or build_camera_registry(resources)
    if sos is None:
        from chalicelib.wiring.saferet import build_safe_return

        sos = build_safe_return(resources, registry).sos
    table = resources.table("records")
    events = MonitorEventStore(table, incidents=active_incidents(sos), locate=camera_locator(registry))
    return Monitoring(events=events, rules=CameraRulesStore(table))
