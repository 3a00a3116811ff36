"""What an agency's webhook receives: one model per producer (an SOS, an evidence follow-up, a disaster report, an
operator's video-link bundle, a missing-person search answer). ``DispatchService.submit`` takes only these, and
the published contract's ``agency-dispatch`` webhook lists exactly these, so a new kind of dispatch cannot reach
agencies without reaching the contract."""

from __future__ import annotations

from typing import get_args

from chalicelib.models.common import Message
from chalicelib.models.dispatch import DisasterDispatch, EvidenceFollowUp
from chalicelib.models.search import SearchAnswer
from chalicelib.models.sos import Dispatch112
from chalicelib.models.video_link import VideoLinkGrant

AgencyPayload = Dispatch112 | EvidenceFollowUp | DisasterDispatch | VideoLinkGrant | SearchAnswer
AGENCY_PAYLOADS: tuple[type[Message], ...] = get_args(AgencyPayload)
