"""Developer commands: ``make invoke`` runs one handler on a sample event; the admin CLI names a stopped
local platform in one line instead of a traceback, and reports progress on a long camera load."""

from __future__ import annotations

import io
import json

import pytest
from conftest import EVENTS

from chalicelib.adapters import aws as aws_clients
from chalicelib.cli import main as admin
from chalicelib.cli import show_progress
from chalicelib.settings import get_settings
from local.invoke import functions, invoke


def test_invoke_runs_one_handler_on_a_sample_event(aws, capsys):
    assert "trip_watchdog" in functions()
    assert invoke("trip_watchdog", EVENTS / "schedule/trip_watchdog.json") == 0
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert isinstance(printed, dict)  # what the handler returned, as JSON


def test_invoke_refuses_an_unknown_function(capsys):
    assert invoke("no_such_function", EVENTS / "schedule/trip_watchdog.json") == 2
    assert "trip_watchdog" in capsys.readouterr().err  # the choices are listed


def test_the_admin_cli_says_the_local_platform_is_not_running(monkeypatch, capsys):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # discard port: nothing listens
    get_settings.cache_clear()
    aws_clients.reset_clients()
    try:
        assert admin(["principal", "list"]) == 3
    finally:
        monkeypatch.delenv("AWS_ENDPOINT_URL")
        get_settings.cache_clear()
        aws_clients.reset_clients()
    err = capsys.readouterr().err
    assert "the local platform is not running" in err and "make serve" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(("done", "total", "shown"), [(5000, 100_000, "5,000/100,000 (5 %"),
                                                       (100_000, 100_000, "100,000/100,000 (100 %")])
def test_progress_is_one_redrawn_line(done, total, shown):
    stream = io.StringIO()
    show_progress("cameras stored", stream=stream)(done, total)
    assert stream.getvalue().startswith("\r  cameras stored: ") and shown in stream.getvalue()
    assert stream.getvalue().endswith("\n") is (done == total)
