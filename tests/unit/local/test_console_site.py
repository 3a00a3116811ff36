"""The console's static assets beside the API: the page, hashed assets, nothing outside the build."""

from __future__ import annotations

from local.console_site import ConsoleSite


def _site(tmp_path):
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<!doctype html><title>console</title>")
    (tmp_path / "assets" / "index-abc123.js").write_text("console.log(1)")
    (tmp_path.parent / "secret.txt").write_text("not for the browser")
    return ConsoleSite(tmp_path)


def test_the_page_and_its_assets_are_served_with_their_types_and_cache_rules(tmp_path):
    site = _site(tmp_path)
    answer = site.answer("GET", "/console/")
    assert answer is not None
    status, headers, body = answer
    assert status == 200 and body.startswith(b"<!doctype html>")
    assert ("Content-Type", "text/html; charset=utf-8") in headers and ("Cache-Control", "no-cache") in headers
    answer = site.answer("GET", "/console/assets/index-abc123.js?v=1")
    assert answer is not None
    status, headers, body = answer
    assert status == 200 and body == b"console.log(1)"
    assert dict(headers)["Content-Type"].startswith("text/javascript")
    assert "immutable" in dict(headers)["Cache-Control"]
    assert (site.answer("GET", "/console") or ())[:2] == (301, [("Location", "/console/")])


def test_other_paths_go_to_the_api_and_nothing_outside_the_build_is_served(tmp_path):
    site = _site(tmp_path)
    assert site.answer("GET", "/v1/alerts") is None
    assert site.answer("GET", "/consoles") is None
    assert (site.answer("GET", "/console/../secret.txt") or (0,))[0] == 404
    assert (site.answer("GET", "/console/assets/missing.js") or (0,))[0] == 404
    assert (site.answer("POST", "/console/index.html") or (0,))[0] == 405


def test_an_unbuilt_console_says_how_to_build_it(tmp_path):
    answer = ConsoleSite(tmp_path / "dist").answer("GET", "/console/")
    assert answer is not None and answer[0] == 503 and b"make console" in answer[2]
