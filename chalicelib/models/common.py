"""Shared field types and the base model every message uses."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Latitude = Annotated[float, Field(ge=-90.0, le=90.0, description="WGS84 latitude, degrees.")]
Longitude = Annotated[float, Field(ge=-180.0, le=180.0, description="WGS84 longitude, degrees.")]
EpochMs = Annotated[int, Field(ge=0, description="Milliseconds since the Unix epoch, UTC.")]


class Message(BaseModel):
    """Base of every boundary model: unknown keys are refused, instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class GeoPoint(Message):
    lat: Latitude
    lon: Longitude
