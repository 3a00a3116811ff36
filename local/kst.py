"""Times as people in Seoul read them, for the demos' output: KST, to the second, labelled."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

KST = timezone(timedelta(hours=9), "KST")


def _at(at: datetime | int) -> datetime:
    return datetime.fromtimestamp(at / 1000, KST) if isinstance(at, int) else at.astimezone(KST)


def clock(at: datetime | int) -> str:
    """``07:28:21 KST`` (a datetime with any offset, or epoch ms)."""
    return f"{_at(at):%H:%M:%S} KST"


def stamp(at: datetime | int) -> str:
    """``2026-12-01 07:28:21 KST``."""
    return f"{_at(at):%Y-%m-%d %H:%M:%S} KST"
