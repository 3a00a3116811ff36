"""A guardian's live-follow link: what the link answers while the walk is on."""

from __future__ import annotations

from pydantic import AwareDatetime, Field

from chalicelib.models.common import Latitude, Longitude, Message


class FollowLocation(Message):
    lat: Latitude
    lon: Longitude
    accuracy_m: float | None = Field(None, ge=0)


class FollowView(Message):
    """GET /v1/follow/{token}: the walk's live position and status, until arrival or the link's expiry."""

    trip_id: str
    status: str = Field(description="active (the walk is on); the link answers 410 once it has arrived.")
    position: FollowLocation | None = Field(None, description="The newest fix; none before the first.")
    position_at: AwareDatetime | None = Field(None, description="When that fix was taken.")
    destination: FollowLocation
    expected_arrival_at: AwareDatetime
    link_expires_at: AwareDatetime
    text: str = Field(description="One line for the guardian, Korean (KST).")
