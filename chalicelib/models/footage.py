"""Recorded CCTV footage: fixed-length HLS segments indexed by camera and time."""

from __future__ import annotations

from pydantic import Field

from chalicelib.models.common import EpochMs, Message


class FootageSegment(Message):
    camera_id: str = Field(pattern=r"^[A-Za-z0-9._-]{1,64}$")
    start_ms: EpochMs
    end_ms: EpochMs
    key: str = Field(description="Object key in the footage bucket (MPEG-TS, H.264).")
    fps: float = Field(gt=0, le=240)
    width: int = Field(gt=0, le=8192)
    height: int = Field(gt=0, le=8192)
    bytes: int = Field(ge=0)
    sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the object, at ingest.")

    @property
    def duration_s(self) -> float:
        return (self.end_ms - self.start_ms) / 1000.0
