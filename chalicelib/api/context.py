"""Services of the API container, built once on first use (warm Lambdas reuse them)."""

from __future__ import annotations

import threading
from functools import cached_property
from typing import TYPE_CHECKING

from chalicelib.adapters.resources import Resources
from chalicelib.services.cameras import CameraRegistry
from chalicelib.services.principals import PrincipalDirectory
from chalicelib.settings import Settings, get_settings
from chalicelib.wiring.cameras import build_camera_registry
from chalicelib.wiring.sign_in import build_sign_in

if TYPE_CHECKING:
    from chalicelib.services.search.service import SearchService
    from chalicelib.services.video_links.service import VideoLinkService
    from chalicelib.wiring.saferet import SafeReturn
    from chalicelib.wiring.selective_monitor import Monitoring


class Platform:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.resources = Resources(settings)

    @cached_property
    def principals(self) -> PrincipalDirectory:
        return PrincipalDirectory(self.resources.table("principals"), cache_seconds=self.settings.token_cache_seconds,
                                  sign_in=build_sign_in(self.settings))

    @cached_property
    def cameras(self) -> CameraRegistry:
        return build_camera_registry(self.resources)

    @cached_property
    def saferet(self) -> SafeReturn:
        from chalicelib.wiring.saferet import build_safe_return

        return build_safe_return(self.resources, self.cameras)

    @cached_property
    def video_links(self) -> VideoLinkService:
        from chalicelib.wiring.video_links import build_video_links

        return build_video_links(self.settings, self.resources, self.cameras)

    @cached_property
    def monitoring(self) -> Monitoring:
        from chalicelib.wiring.selective_monitor import build_monitoring

        return build_monitoring(self.resources, self.cameras, self.saferet.sos)

    @cached_property
    def searches(self) -> SearchService:
        from chalicelib.wiring.search import build_search_service

        return build_search_service(self.resources, self.cameras)


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
