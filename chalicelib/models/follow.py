"""A guardian's live-follow link: what the link answers while the walk is on."""

from __future__ import annotations

from pydantic import Field

from chalicelib.models.common import Instant, Location, Message


class FollowView(Message):
    """GET /v1/follow/{token}: the walk's live position and status, until arrival or the link's expiry."""

    trip_id: str
    status: str = Field(description="active (the walk is on); the link answers 410 once it has arrived.")
    position: Location | None = Field(None, description="The newest fix; none before the first.")
    position_at: Instant | None = Field(None, description="When that fix was taken.")
    destination: Location
    expected_arrival_at: Instant
    link_expires_at: Instant
    text: str = Field(description="One line for the guardian, Korean (KST).")
