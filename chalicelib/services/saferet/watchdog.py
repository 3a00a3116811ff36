"""One watchdog pass over active trips and overdue SOS incidents; a failure on one item never
stops the others (it is logged and retried on the next pass)."""

from __future__ import annotations

import logging

from chalicelib.errors import AppError
from chalicelib.services.saferet.sos import SosService
from chalicelib.services.saferet.trips import TripService

logger = logging.getLogger(__name__)


SOS_GRACE_MS = 15_000
"""The watchdog leaves an SOS to its delayed message for this long after the deadline: it is the
backstop, not a second racer."""


def sweep(trips: TripService, sos: SosService, now_ms: int) -> dict[str, int]:
    counts = {"trips": 0, "alerts": 0, "escalated": 0, "errors": 0}
    for trip_id in trips.active_trip_ids():
        counts["trips"] += 1
        try:
            counts["alerts"] += len(trips.check(trip_id, now_ms))
        except AppError:
            counts["errors"] += 1
            logger.exception("watchdog check of trip %s failed", trip_id)
    for incident_id in sos.due(now_ms - SOS_GRACE_MS):
        try:
            if sos.escalate(incident_id, now_ms) is not None:
                counts["escalated"] += 1
        except AppError:
            counts["errors"] += 1
            logger.exception("watchdog escalation of %s failed", incident_id)
    return counts
