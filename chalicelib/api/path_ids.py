"""The shape of every id a path carries: each id the API hands out has a prefix naming its kind, and a
path parameter that does not have its shape is answered 404 before any lookup (never a 500, never a
query with attacker-chosen text). The OpenAPI document publishes the same patterns."""

from __future__ import annotations

import re

from chalicelib.errors import NotFound
from chalicelib.models.camera import CAMERA_ID_PATTERN

_HEX = "[0-9a-f]{1,64}"
_SUFFIX = r"(\.[A-Za-z0-9_-]{1,64}){0,4}"  # derived ids: <subject id>.<kind>[.<round>…]

PATH_IDS: dict[str, str] = {
    "trip_id": f"^trip-{_HEX}$",
    "incident_id": f"^inc-{_HEX}$",
    "device_id": f"^dev-{_HEX}$",
    "person_id": f"^pp-{_HEX}$",
    "search_id": f"^srch-{_HEX}$",
    "request_id": f"^vl-{_HEX}$",
    "study_id": f"^xr-{_HEX}$",
    "alert_id": f"^(inc|trip|pp)-{_HEX}{_SUFFIX}$",  # the id of what raised it, and why
    "dispatch_id": f"^(inc-{_HEX}(\\.(vl|ev)-{_HEX})?|dis-{_HEX}|srch-{_HEX})$",  # an incident, its link bundle
    # or evidence; a disaster; a missing-person search's answer
    "job_id": f"^reidx-{_HEX}$",
    "token": f"^trip-{_HEX}\\.[0-9]{{10}}\\.[0-9a-f]{{32}}$",  # a guardian's follow link: trip, expiry, signature
    "event_id": "^mon-[A-Za-z0-9._-]{1,200}$",
    "camera_id": CAMERA_ID_PATTERN,
    "incident_number": "^[A-Za-z0-9][A-Za-z0-9._-]{2,63}$",
}
"""Pattern of each path parameter, by name (tests/unit/api/test_path_ids.py: every path parameter has one)."""

_COMPILED = {name: re.compile(pattern) for name, pattern in PATH_IDS.items()}


def check_path_ids(params: dict[str, str]) -> None:
    """404 for a path parameter that cannot name anything (a name without a pattern is not checked)."""
    for name, value in params.items():
        pattern = _COMPILED.get(name)
        if pattern is not None and pattern.fullmatch(value) is None:
            raise NotFound(f"no such {name.removesuffix('_id').replace('_', ' ')}: {value[:80]!r}")
