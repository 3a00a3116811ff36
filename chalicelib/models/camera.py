"""Cameras of the city's CCTV network."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field

from chalicelib.models.common import Latitude, Location, Longitude, Message, Wire

CAMERA_ID_PATTERN = r"^[A-Za-z0-9._-]{1,64}$"
CameraId = Annotated[str, Field(pattern=CAMERA_ID_PATTERN, description="A camera of the catalog, e.g. SEL-JG-000134.")]


class CameraKind(StrEnum):
    CRIME_PREVENTION = "crime-prevention"
    TRAFFIC = "traffic"
    SCHOOL_ZONE = "school-zone"
    DISASTER = "disaster"


class CameraStatus(StrEnum):
    ACTIVE = "active"
    MAINTENANCE = "maintenance"
    OFFLINE = "offline"


class Camera(Message):
    camera_id: CameraId
    kind: CameraKind
    district: str = Field(min_length=1, max_length=64, description="Seoul district (gu), e.g. Jongno-gu.")
    lat: Latitude
    lon: Longitude
    stream_name: str | None = Field(None, max_length=256, description="Live stream (Kinesis Video) name.")
    recording_prefix: str | None = Field(None, max_length=256, description="Footage bucket prefix.")
    status: CameraStatus = CameraStatus.ACTIVE


class NearbyCamera(Message):
    camera: Camera
    distance_m: float = Field(ge=0)


class CameraView(Wire):
    """A camera on the API: where it is and what it is (its stream and footage names stay inside)."""

    camera_id: str
    kind: CameraKind
    district: str
    location: Location
    status: CameraStatus


class NearbyCameraView(Wire):
    camera: CameraView
    distance_m: float


class NearbyCameras(Message):
    """Answer of nearest_cameras: ordered by distance, with a note when fewer than k exist."""

    cameras: list[NearbyCamera]
    requested: int
    radius_m: float
    complete: bool = Field(description="True when k cameras were found within the radius.")
    note: str | None = None


class NearbyCamerasView(Wire):
    """Answer of GET /v1/cameras/nearby: ordered by distance, with a note when fewer than asked exist."""

    cameras: list[NearbyCameraView]
    requested: int
    radius_m: float
    complete: bool = Field(description="True when as many cameras as asked were found within the radius.")
    note: str | None = None
