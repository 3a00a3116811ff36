"""Shared field types and the base model every message uses."""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import UTC, datetime, timedelta, timezone
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    model_validator,
)

Latitude = Annotated[float, Field(ge=-90.0, le=90.0, description="WGS84 latitude, degrees.")]
Longitude = Annotated[float, Field(ge=-180.0, le=180.0, description="WGS84 longitude, degrees.")]
EpochMs = Annotated[int, Field(ge=0, description="Milliseconds since the Unix epoch, UTC.")]

KST = timezone(timedelta(hours=9), "KST")
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$")


def _parse_rfc3339(value: Any) -> Any:
    """A JSON string as a time: RFC 3339 with an offset only (a wire model validates from Python, where strict
    mode takes no strings for times; numbers stay numbers and are refused)."""
    if not isinstance(value, str):
        return value
    if _RFC3339.fullmatch(value) is None:
        raise ValueError("must be an RFC 3339 date-time with an offset, e.g. 2026-11-22T09:00:00+09:00")
    return datetime.fromisoformat(value.upper())


def _in_kst(at: datetime) -> datetime:
    try:
        return at.astimezone(KST)
    except OverflowError as exc:  # year 1 or 9999 pushed past the calendar by the offset: bad input, not a 500
        raise ValueError("the time is out of range") from exc


def _rfc3339(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds" if at.microsecond else "seconds")


Instant = Annotated[AwareDatetime, BeforeValidator(_parse_rfc3339), AfterValidator(_in_kst),
                    PlainSerializer(_rfc3339, return_type=str, when_used="json"),
                    Field(description="RFC 3339 date-time with its UTC offset; answers show KST (+09:00), "
                                      "e.g. 2026-11-22T09:00:00+09:00.")]
"""The one time representation on the HTTP API; services keep epoch milliseconds (``instant``/``epoch_ms``)."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def instant(ms: int) -> datetime:
    """Epoch milliseconds as a time in KST (exact: no float rounding)."""
    return (_EPOCH + timedelta(milliseconds=ms)).astimezone(KST)


def epoch_ms(at: datetime) -> int:
    """An aware time as epoch milliseconds (sub-millisecond parts dropped)."""
    return (at - _EPOCH) // timedelta(milliseconds=1)

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


_BARE_TIMES = frozenset({"t_ms", "time_ms", "at_ms"})


def _wire_name(field: str) -> str:
    """The API's name for a stored epoch-ms field: ``created_ms`` → ``created_at``, ``t_ms`` → ``at``."""
    return "at" if field in _BARE_TIMES else field.removesuffix("_ms") + "_at"


class Wire(Message):
    """A message on the HTTP API, built from a stored record at the boundary: ``Model.model_validate(record)``.

    Given a model instance of another class (a record; JSON input never is one), it takes the fields it
    declares, turns the record's epoch-ms ``X_ms`` into ``X_at`` times (``t_ms``/``time_ms`` into ``at``)
    and a flat ``lat``/``lon``/``accuracy_m`` into ``location``; everything else stays inside. Nested
    records become their own wire models the same way. A request is JSON and never converted: it gives
    RFC 3339 times and location objects."""

    @model_validator(mode="before")
    @classmethod
    def _from_record(cls, data: Any) -> Any:
        if not isinstance(data, BaseModel) or isinstance(data, cls):
            return data
        return record_shape(data, cls.model_fields)


def record_shape(record: BaseModel, fields: Collection[str]) -> dict[str, Any]:
    """``record``'s values under the wire names of ``fields`` (see ``Wire``)."""
    source = record.__dict__  # nested records stay models, so their own wire type converts them
    shaped: dict[str, Any] = {}
    for key, value in source.items():
        if key in fields:
            shaped[key] = value
        elif key.endswith("_ms") and _wire_name(key) in fields:
            shaped[_wire_name(key)] = None if value is None else instant(value)
    if "location" in fields and "location" not in shaped and "lat" in source and "lon" in source:
        shaped["location"] = {k: source[k] for k in ("lat", "lon", "accuracy_m") if k in source}
    return shaped


class Location(Wire):
    """The one location object of the API: a WGS84 point and, where known, its accuracy radius."""

    lat: Latitude
    lon: Longitude
    accuracy_m: float | None = Field(None, gt=0, le=5_000, description="Horizontal accuracy radius (68%), metres.")


GeoPoint = Location
"""The former name of ``Location`` (a point without accuracy), kept for code written before the rename."""
