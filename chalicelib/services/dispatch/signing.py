"""The webhook signature (HMAC-SHA256 over the timestamp and the exact body), Stripe-style.

A delivery carries ``X-GT-Timestamp: <unix seconds>`` and ``X-GT-Signature: v1=<hex>`` where ``<hex>`` is
HMAC-SHA256(key = the agency's secret as UTF-8, message = ``<timestamp>.`` followed by the raw body bytes).
A receiver recomputes it, compares in constant time and refuses timestamps more than 300 s from its clock
(replays); ``X-GT-Dispatch-Id`` is the de-duplication key (a dispatch may arrive more than once).
"""

from __future__ import annotations

import hashlib
import hmac

TIMESTAMP_HEADER = "X-GT-Timestamp"
SIGNATURE_HEADER = "X-GT-Signature"
DISPATCH_HEADER = "X-GT-Dispatch-Id"
ROUND_HEADER = "X-GT-Delivery-Round"
TOLERANCE_S = 300
SCHEME = ("X-GT-Signature: v1=<hex HMAC-SHA256(key = secret as UTF-8, message = X-GT-Timestamp + '.' + raw body)>;"
          " refuse timestamps more than 300 s off; de-duplicate on X-GT-Dispatch-Id")


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"v1={digest}"


def signed_headers(secret: str, body: bytes, *, now_s: int, dispatch_id: str, round_: int) -> dict[str, str]:
    return {"Content-Type": "application/json; charset=utf-8", TIMESTAMP_HEADER: str(now_s),
            SIGNATURE_HEADER: sign(secret, now_s, body), DISPATCH_HEADER: dispatch_id, ROUND_HEADER: str(round_)}


def verify(secret: str, timestamp: str, signature: str, body: bytes, *, now_s: int) -> bool:
    """What a receiver does (kept beside the signer for the documentation; tests verify independently)."""
    if not timestamp.isdigit() or abs(now_s - int(timestamp)) > TOLERANCE_S:
        return False
    return hmac.compare_digest(sign(secret, int(timestamp), body), signature)
