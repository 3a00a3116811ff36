"""GeoJSON the console's map draws (RFC 7946): cameras (clustered at city scale) and district boundaries."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from chalicelib.models.common import Latitude, Longitude, Message


class PointGeometry(Message):
    type: Literal["Point"] = "Point"
    coordinates: tuple[float, float] = Field(description="[longitude, latitude] (RFC 7946 order).")


class PolygonGeometry(Message):
    type: Literal["Polygon"] = "Polygon"
    coordinates: list[list[tuple[float, float]]] = Field(description="Linear rings of [longitude, latitude].")


class CameraProperties(Message):
    camera_id: str | None = Field(None, description="Set on a single camera; None on a cluster.")
    district: str | None = None
    kind: str | None = None
    status: str | None = None
    cluster: bool = Field(False, description="True when the point stands for several cameras.")
    point_count: int = Field(1, ge=1, description="Cameras the point stands for.")


class CameraFeature(Message):
    type: Literal["Feature"] = "Feature"
    geometry: PointGeometry
    properties: CameraProperties


class CameraCollection(Message):
    """``GET /v1/console/map/cameras``: every camera in the box, or grid clusters when there are too many."""

    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[CameraFeature]
    total: int = Field(ge=0, description="Cameras inside the box.")
    clustered: bool


class DistrictProperties(Message):
    code: str
    name: str
    cameras: int = Field(ge=0)


class DistrictFeature(Message):
    type: Literal["Feature"] = "Feature"
    geometry: PolygonGeometry
    properties: DistrictProperties


class DistrictCollection(Message):
    """``GET /v1/console/map/districts``: the 25 districts' boundaries (approximate: the hull of the area
    each district's control center covers)."""

    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[DistrictFeature]


class CameraBox(Message):
    """Query of ``GET /v1/console/map/cameras``: the map's visible box (defaults: greater Seoul)."""

    south: Latitude = 37.40
    west: Longitude = 126.70
    north: Latitude = 37.72
    east: Longitude = 127.25
    max_points: int = Field(3000, ge=10, le=20_000, description="More cameras than this are grid-clustered.")

    @model_validator(mode="after")
    def _ordered(self) -> CameraBox:
        if self.south >= self.north or self.west >= self.east:
            raise ValueError("south must be below north and west left of east")
        return self
