"""Follow-up dispatches as evidence arrives: each photo, audio or video the phone uploads after the first
dispatch reaches the same agency as a dispatch of its own (``<incident>.ev-<hash of the key>``).

Idempotent on retries: the follow-up's id is derived from the object key, so a repeated S3 notification
re-queues the same dispatch, which the consumer (idempotent on dispatch and round) posts no second time and
the agency de-duplicates on. An upload before the first dispatch is left to it: its delivery lists every
object under the incident's prefix.
"""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import UTC, datetime

from chalicelib.errors import NotFound
from chalicelib.models.dispatch import EvidenceFollowUp
from chalicelib.services.dispatch.evidence import EVIDENCE_LINK_S
from chalicelib.services.dispatch.service import DispatchService
from chalicelib.services.texts import kst, render

logger = logging.getLogger(__name__)
EVIDENCE_KEY = re.compile(r"^sos/(?P<incident_id>inc-[0-9a-f]{1,64})/[^/]+\.(?P<ext>jpg|png|mp4|m4a|mp3)$")
_WHAT = {"jpg": ("사진", "photo", "image/jpeg"), "png": ("사진", "photo", "image/png"),
         "mp4": ("영상", "video", "video/mp4"), "m4a": ("음성", "audio", "audio/mp4"),
         "mp3": ("음성", "audio", "audio/mpeg")}


def follow_up_id(incident_id: str, key: str) -> str:
    return f"{incident_id}.ev-{hashlib.sha256(key.encode()).hexdigest()[:16]}"


class EvidenceFollowUps:
    def __init__(self, agencies: DispatchService) -> None:
        self._agencies = agencies

    def on_upload(self, key: str, uploaded_ms: int, now_ms: int) -> str | None:
        """Queue the follow-up for one uploaded object; its dispatch id, or None when there is nothing to
        follow (not evidence, or the incident has not been dispatched yet)."""
        match = EVIDENCE_KEY.match(key)
        if match is None:
            logger.warning("not an SOS evidence key: %s", key)
            return None
        incident_id = match["incident_id"]
        try:
            first = self._agencies.get(incident_id)
        except NotFound:
            return None  # still in its cancel window (or cancelled): the first dispatch will carry it
        endpoint = self._agencies.endpoint(first.target)
        locale = endpoint.locale if endpoint is not None else "ko"
        ko, en, content_type = _WHAT[match["ext"]]
        summary = render("evidence-follow-up", locale, what=ko if locale == "ko" else en, incident_id=incident_id,
                         time=kst(uploaded_ms, locale), expires=kst(now_ms + EVIDENCE_LINK_S * 1000, locale))
        follow_up = EvidenceFollowUp(incident_id=incident_id, agency=first.target, district=first.district,
                                     evidence_keys=[key], content_type=content_type, summary=summary,
                                     uploaded_at=datetime.fromtimestamp(uploaded_ms / 1000, UTC))
        dispatch_id = follow_up_id(incident_id, key)
        self._agencies.submit_follow_up(dispatch_id, incident_id, follow_up, now_ms=now_ms)
        return dispatch_id
