"""One click from a protected-person alert to a missing-person search: the alert's seed as a search request."""

from __future__ import annotations

import base64

from chalicelib.errors import ApiError
from chalicelib.models.alert import Alert
from chalicelib.models.common import Location, instant
from chalicelib.models.search import MAX_PHOTO_BASE64, LastSeen, SearchRequest
from chalicelib.ports import ObjectStore

DEFAULT_WINDOW_MINUTES = 60


def search_from_alert(alert: Alert, media: ObjectStore, *, window_minutes: int = DEFAULT_WINDOW_MINUTES) -> SearchRequest:
    """The registered photo and the last fix of the alert's search seed; 409 when the alert carries none."""
    seed = alert.search
    if seed is None:
        raise ApiError(f"alert {alert.alert_id} ({alert.kind.value}) carries no missing-person search seed",
                       code="no_search_seed", status=409)
    photo = base64.b64encode(media.get(seed.photo_key)).decode("ascii")
    if len(photo) > MAX_PHOTO_BASE64:
        raise ApiError("the registered photo is too large to search with", code="photo_too_large", status=409)
    return SearchRequest(photos=[photo], window_minutes=window_minutes,
                         last_seen=LastSeen(location=Location(lat=seed.last_seen.lat, lon=seed.last_seen.lon),
                                            at=instant(seed.last_seen.t_ms)))
