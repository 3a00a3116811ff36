"""The camera registry every service shares (built once per container by its callers)."""

from __future__ import annotations

from chalicelib.adapters.resources import Resources
from chalicelib.services.cameras import CameraRegistry


def build_camera_registry(resources: Resources) -> CameraRegistry:
    return CameraRegistry(resources.table("cameras"), resources.store("media"),
                          index_key=resources.settings.camera_index_key)
