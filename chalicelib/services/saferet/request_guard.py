"""Request safety for the citizens' API: idempotency keys and per-device rate limits.

Both live in the records table and rely only on conditional writes, so they hold across every
Lambda container (no in-memory state):

* ``IdempotencyKeys`` maps (caller, route, key) to the id the first request created; a retry with
  the same key and the same body gets that id back, the same key with another body is refused.
* ``RateLimiter`` counts requests in fixed windows with a compare-and-set on the window's counter
  (a lost race simply retries), and answers ``TooManyRequests`` with ``Retry-After``.
"""

from __future__ import annotations

import hashlib
import re

from chalicelib.errors import ConditionFailed, TooManyRequests, TransientError, ValidationFailed
from chalicelib.ports import Table

KEY_PATTERN = r"^[A-Za-z0-9._:-]{1,128}$"
_KEY = re.compile(KEY_PATTERN)
_SK = "guard"
IDEMPOTENCY_TTL_S = 24 * 3600


def fingerprint(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def valid_key(key: str | None) -> str | None:
    """The Idempotency-Key header value, checked; ``None`` when absent."""
    if key is None:
        return None
    if not _KEY.match(key):
        raise ValidationFailed("Idempotency-Key must be 1-128 characters of A-Z a-z 0-9 . _ : -")
    return key


class IdempotencyKeys:
    def __init__(self, table: Table) -> None:
        self._table = table

    def _pk(self, scope: str, owner_id: str, key: str) -> str:
        return f"IDEMPOTENCY#{owner_id}#{scope}#{key}"

    def lookup(self, scope: str, owner_id: str, key: str, body_hash: str) -> str | None:
        """The id an earlier request with this key created; refuses a different body (422)."""
        existing = self._table.get({"pk": self._pk(scope, owner_id, key), "sk": _SK})
        if existing is None:
            return None
        if existing.get("body_hash") != body_hash:
            raise ValidationFailed(f"Idempotency-Key {key} was already used with a different request body")
        return str(existing["target_id"])

    def claim(self, scope: str, owner_id: str, key: str, candidate_id: str, body_hash: str,
              now_ms: int) -> tuple[str, bool]:
        """Bind ``key`` to ``candidate_id`` unless it is bound already (a conditional write).

        Returns ``(id, replayed)``: the candidate and False for the first request, the earlier id
        and True when a concurrent request with the same key won.
        """
        item = {"pk": self._pk(scope, owner_id, key), "sk": _SK, "target_id": candidate_id,
                "body_hash": body_hash, "created_ms": now_ms, "expires_at": now_ms // 1000 + IDEMPOTENCY_TTL_S}
        try:
            self._table.put(item, if_absent=True)
            return candidate_id, False
        except ConditionFailed:
            pass
        earlier = self.lookup(scope, owner_id, key, body_hash)
        if earlier is None:  # expired between the two calls
            raise TransientError(f"idempotency key {key} changed concurrently; retry")
        return earlier, True


class RateLimiter:
    """Fixed-window counters. The count this container last wrote is remembered, so the usual
    case (the same device again, no other container in between) is one conditional write; a
    stale guess just fails the condition and falls back to read-then-write."""

    def __init__(self, table: Table, *, limit: int, window_s: int = 60, attempts: int = 8) -> None:
        if limit < 1 or window_s < 1:
            raise ValueError("limit and window must be positive")
        self._table = table
        self.limit = limit
        self.window_s = window_s
        self._attempts = attempts
        self._known: dict[str, int] = {}
        self._known_window = -1

    def hit(self, subject: str, bucket: str, now_ms: int, *, cost: int = 1) -> int:
        """Count one request; returns the requests left in this window or raises 429."""
        window = now_ms // 1000 // self.window_s
        if window != self._known_window:
            self._known, self._known_window = {}, window
        pk = f"RATE#{bucket}#{subject}#{window}"
        key = {"pk": pk, "sk": _SK}
        retry_after = max(1, (window + 1) * self.window_s - now_ms // 1000)
        guess = self._known.get(pk)
        for attempt in range(self._attempts):
            if guess is None or attempt > 0:
                current = self._table.get(key)
                guess = None if current is None else int(current["count"])
            count = guess or 0
            if count + cost > self.limit:  # counts only grow inside a window: a guess this high is true
                raise TooManyRequests(f"more than {self.limit} {bucket} requests in {self.window_s} s",
                                      headers={"Retry-After": str(retry_after)})
            item = {**key, "count": count + cost, "expires_at": (window + 2) * self.window_s}
            try:
                if guess is None:
                    self._table.put(item, if_absent=True)
                else:
                    self._table.put(item, expect={"count": count})
            except ConditionFailed:
                continue  # another request counted first: read again
            self._known[pk] = count + cost
            return self.limit - count - cost
        raise TooManyRequests(f"too many concurrent {bucket} requests", headers={"Retry-After": "1"})
