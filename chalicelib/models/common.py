"""Shared field types and the base model every message uses."""

from __future__ import annotations

from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

Latitude = Annotated[float, Field(ge=-90.0, le=90.0, description="WGS84 latitude, degrees.")]
Longitude = Annotated[float, Field(ge=-180.0, le=180.0, description="WGS84 longitude, degrees.")]
EpochMs = Annotated[int, Field(ge=0, description="Milliseconds since the Unix epoch, UTC.")]

# What a DynamoDB number can hold (its documented range, 38 significant digits): a float outside it
# makes boto3's serializer raise decimal.Underflow/Overflow, an int of 39+ digits decimal.Rounded.
STORABLE_MIN = 1e-130
STORABLE_MAX = 1e126
STORABLE_INT = 10**38


def unstorable_number(value: Any, where: str) -> str | None:
    """Where ``value`` (walked through lists, tuples and dicts) holds a number DynamoDB cannot store."""
    if isinstance(value, float):
        magnitude = abs(value)
        if value and not STORABLE_MIN <= magnitude < STORABLE_MAX:
            return f"{where}: {value!r} cannot be stored; a number must be 0 or between 1e-130 and 1e126 in size"
    elif isinstance(value, int) and not isinstance(value, bool):
        if abs(value) >= STORABLE_INT:
            return f"{where}: an integer must have at most 38 digits"
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            if (problem := unstorable_number(item, f"{where}.{i}")) is not None:
                return problem
    elif isinstance(value, dict):
        for key, item in value.items():
            if (problem := unstorable_number(item, f"{where}.{key}")) is not None:
                return problem
    return None


class Message(BaseModel):
    """Base of every boundary model: unknown keys are refused, instances are immutable, and every
    number is one the database can store (finite, within DynamoDB's range), so bad input is a
    validation error at the boundary instead of a serializer crash deep in a write."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @model_validator(mode="after")
    def _storable_numbers(self) -> Self:
        for name, value in self.__dict__.items():
            skip = value is None or isinstance(value, (str, BaseModel))
            if not skip and (problem := unstorable_number(value, name)) is not None:
                raise ValueError(problem)
        return self


class GeoPoint(Message):
    lat: Latitude
    lon: Longitude
