"""GET /v1/cameras/nearby."""

from __future__ import annotations

from chalice.app import Blueprint, Request
from pydantic import Field

from chalicelib.api.context import platform
from chalicelib.api.http import Caller, endpoint
from chalicelib.models.camera import NearbyCamerasView
from chalicelib.models.common import Latitude, Longitude, Message
from chalicelib.models.principal import PrincipalKind

cameras = Blueprint(__name__)


class NearbyQuery(Message):
    lat: Latitude
    lon: Longitude
    k: int = Field(5, ge=1, le=50)
    radius_m: float = Field(3000.0, gt=0, le=50_000)


@endpoint(cameras, "/v1/cameras/nearby", allow=set(PrincipalKind))
def nearby(caller: Caller, request: Request, *, query: NearbyQuery) -> NearbyCamerasView:
    """Nearest cameras by great-circle distance, widening to the radius."""
    return NearbyCamerasView.model_validate(
        platform().cameras.nearest(query.lat, query.lon, k=query.k, radius_m=query.radius_m))
