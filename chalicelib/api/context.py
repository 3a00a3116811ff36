"""Services of the API container, built once on first use (warm Lambdas reuse them)."""

from __future__ import annotations

import threading
from functools import cached_property

from chalicelib.adapters.resources import Resources
from chalicelib.services.cameras import CameraRegistry
from chalicelib.services.principals import PrincipalDirectory
from chalicelib.settings import Settings, get_settings


class Platform:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.resources = Resources(settings)

    @cached_property
    def principals(self) -> PrincipalDirectory:
        return PrincipalDirectory(self.resources.table("principals"), cache_seconds=self.settings.token_cache_seconds)

    @cached_property
    def cameras(self) -> CameraRegistry:
        return CameraRegistry(self.resources.table("cameras"), self.resources.store("media"),
                              index_key=self.settings.camera_index_key)


_lock = threading.Lock()
_platform: Platform | None = None


def platform() -> Platform:
    global _platform
    with _lock:
        if _platform is None:
            _platform = Platform(get_settings())
        return _platform


def reset_platform() -> None:
    """Forget the built services (tests that change settings)."""
    global _platform
    with _lock:
        _platform = None
