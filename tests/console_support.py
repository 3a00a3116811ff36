"""The console in a real browser: Debian's Chromium driven by Playwright, against `python -m local serve`."""

from __future__ import annotations

import base64
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chalicelib.adapters.resources import Resources

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "tests" / "artifacts" / "console"  # screenshots, one per browser test
# WebGL (MapLibre) through SwiftShader in headless Chromium; autoplay for muted live video
CHROMIUM_ARGS = ["--enable-unsafe-swiftshader", "--use-angle=swiftshader", "--ignore-gpu-blocklist",
                 "--autoplay-policy=no-user-gesture-required", "--no-sandbox"]


@dataclass
class Console:
    url: str
    api_url: str
    resources: Resources
    tokens: dict[str, str]
    extra: dict[str, Any] = field(default_factory=dict)


def launch(playwright: Any) -> Any:
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def sign_in(page: Any, console: Console, token: str, role: str) -> None:
    page.goto(console.url)
    page.get_by_test_id("token").fill(token)
    page.get_by_test_id("role").select_option(role)
    page.get_by_test_id("signin").click()
    page.get_by_test_id("main").locator("[data-testid=signin]").wait_for(state="detached")


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def wait_until(check: Callable[[], Any], timeout_s: float, step_s: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        found = check()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(step_s)


def drop_file(page: Any, selector: str, name: str, data: bytes, mime: str) -> None:
    """A file dropped onto ``selector`` as a person drags it from the desktop (a DataTransfer with the file),
    once the target is on screen (a screen's code loads after sign-in, as its own chunk)."""
    page.wait_for_selector(selector, state="visible", timeout=30_000)
    page.evaluate("""([selector, name, b64, mime]) => {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const transfer = new DataTransfer();
        transfer.items.add(new File([bytes], name, { type: mime }));
        const target = document.querySelector(selector);
        target.dispatchEvent(new DragEvent("dragover", { dataTransfer: transfer, bubbles: true, cancelable: true }));
        target.dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true }));
    }""", [selector, name, base64.b64encode(data).decode(), mime])


def video_advances(page: Any, selector: str, *, seconds: float = 1.0, timeout_s: float = 30.0) -> float:
    """The largest currentTime any matching <video> reached once it had advanced by ``seconds``; 0 if none did."""
    page.wait_for_function(
        """([selector, seconds]) => [...document.querySelectorAll(selector)]
              .some((v) => v.currentTime >= seconds && !v.paused)""",
        arg=[selector, seconds], timeout=timeout_s * 1000)
    return float(page.evaluate(
        "(selector) => Math.max(...[...document.querySelectorAll(selector)].map((v) => v.currentTime))", selector))


def iter_pages(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1600, "height": 1000}, locale="ko-KR", timezone_id="UTC")
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()
