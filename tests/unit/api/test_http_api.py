"""The endpoint decorator: a view declares its JSON body once (``*, body: Model``) and gets it parsed."""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from chalice.app import Chalice, Request
from chalice.test import Client
from pydantic import Field

from chalicelib.api import http
from chalicelib.api.http import BodyParam, Caller, body_param, endpoint
from chalicelib.errors import Unauthorized
from chalicelib.models.common import Message
from chalicelib.models.principal import Principal, PrincipalKind

API = Path(http.__file__).parent
MAX_BODY = 2048
PRINCIPAL = Principal(principal_id="app-1", kind=PrincipalKind.APP, name="App", token_hash="0" * 64, created_ms=0)


class Note(Message):
    text: str = Field(min_length=1, max_length=20)
    count: int = 1


class Answer(Message):
    text: str
    count: int
    item_id: str


@pytest.fixture
def routes(monkeypatch: pytest.MonkeyPatch) -> list[http.RouteDoc]:
    """ROUTES to register into, a body limit of MAX_BODY, and authentication that lets ``Bearer ok`` in."""

    def authenticate(request: Request, allow: Any) -> Caller:
        if request.headers.get("authorization") != "Bearer ok":
            raise Unauthorized("no")
        return Caller(principal=PRINCIPAL, source_ip="10.0.0.1")

    registered: list[http.RouteDoc] = []
    monkeypatch.setattr(http, "ROUTES", registered)
    monkeypatch.setattr(http, "authenticate", authenticate)
    monkeypatch.setattr(http, "platform", lambda: SimpleNamespace(settings=SimpleNamespace(api_max_body_bytes=MAX_BODY)))
    return registered


@pytest.fixture
def calls() -> list[dict[str, Any]]:
    return []


@pytest.fixture
def app(routes: list[http.RouteDoc], calls: list[dict[str, Any]]) -> Chalice:
    app = Chalice(app_name="endpoint-test")

    @endpoint(app, "/items/{item_id}/notes", methods=["POST"], allow={PrincipalKind.APP}, status=201)
    def add_note(caller: Caller, request: Request, item_id: str, *, body: Note) -> Answer:
        """Add a note."""
        calls.append({"view": "add_note", "item_id": item_id, "body": body})
        return Answer(text=body.text, count=body.count, item_id=item_id)

    @endpoint(app, "/items/{item_id}/close", methods=["POST"], allow={PrincipalKind.APP})
    def close(caller: Caller, request: Request, item_id: str, *, body: Note | None = None) -> dict[str, Any]:
        calls.append({"view": "close", "item_id": item_id, "body": body})
        return {"note": body.text if body else None}

    @endpoint(app, "/items/{item_id}/ping", methods=["POST"], allow={PrincipalKind.APP})
    def ping(caller: Caller, request: Request, item_id: str) -> dict[str, Any]:
        calls.append({"view": "ping", "item_id": item_id, "raw": request.raw_body})
        return {"ok": True}

    return app


def post(app: Chalice, path: str, body: bytes, *, token: str = "ok") -> tuple[int, dict[str, Any]]:
    with Client(app) as client:
        reply = client.http.post(path, body=body, headers={"Authorization": f"Bearer {token}",
                                                           "Content-Type": "application/json"})
    return reply.status_code, json.loads(reply.body)


def test_the_view_gets_the_parsed_model_as_body(app, calls, monkeypatch):
    # GIVEN a view declaring `*, body: Note`, and a spy on the model's parser
    parsed: list[bytes] = []
    original: Any = Note.model_validate_json.__func__  # type: ignore[attr-defined]

    def spy(cls: type[Note], /, raw: bytes, **kwargs: Any) -> Note:
        parsed.append(raw)
        result: Note = original(cls, raw, **kwargs)
        return result

    monkeypatch.setattr(Note, "model_validate_json", classmethod(spy))

    # WHEN a valid body is posted
    status, answer = post(app, "/items/i-1/notes", b'{"text": "hello", "count": 3}')

    # THEN the body was parsed once and the view got the model instance beside its path parameter
    assert status == 201
    assert answer == {"text": "hello", "count": 3, "item_id": "i-1"}
    assert len(parsed) == 1
    assert calls == [{"view": "add_note", "item_id": "i-1", "body": Note(text="hello", count=3)}]


def test_a_view_without_body_gets_no_body_argument(app, calls):
    status, answer = post(app, "/items/i-2/ping", b'{"anything": "goes"}')

    assert (status, answer) == (200, {"ok": True})
    assert calls == [{"view": "ping", "item_id": "i-2", "raw": b'{"anything": "goes"}'}]


@pytest.mark.parametrize(("raw", "status", "code"), [
    (b"", 400, "bad_request"),
    (b"   \n", 400, "bad_request"),
    (b"{broken", 400, "bad_request"),
    (b"\xff\xfe", 400, "bad_request"),
    (b'{"text": ""}', 422, "validation_failed"),
    (b'{"text": "x", "surprise": true}', 422, "validation_failed"),
    (b'{"text": "x", "count": "many"}', 422, "validation_failed"),
    (json.dumps({"text": "x" * MAX_BODY}).encode(), 413, "payload_too_large"),
])
def test_a_bad_body_is_answered_before_the_view_runs(app, calls, raw, status, code):
    got, answer = post(app, "/items/i-3/notes", raw)

    assert got == status
    assert answer["error"]["code"] == code
    assert answer["error"]["message"]
    assert calls == []


def test_validation_errors_name_the_field(app):
    _, answer = post(app, "/items/i-3/notes", b'{"text": "x", "count": "many"}')

    assert answer["error"]["message"].startswith("count: ")


def test_authentication_comes_before_the_body(app, calls):
    # GIVEN an invalid token AND a malformed body: the caller learns nothing about the body
    status, answer = post(app, "/items/i-4/notes", b"{broken", token="bad")

    assert status == 401
    assert answer["error"]["code"] == "unauthorized"
    assert calls == []


def test_an_optional_body_may_be_empty_but_not_invalid(app, calls):
    assert post(app, "/items/i-5/close", b"") == (200, {"note": None})
    assert post(app, "/items/i-5/close", b'{"text": "done"}') == (200, {"note": "done"})
    status, answer = post(app, "/items/i-5/close", b"{broken")

    assert (status, answer["error"]["code"]) == (400, "bad_request")
    assert [c["body"] for c in calls] == [None, Note(text="done")]


def test_the_openapi_route_doc_comes_from_the_same_declaration(app, routes):
    by_path = {r.path: r for r in routes}

    notes = by_path["/items/{item_id}/notes"]
    assert (notes.body, notes.body_required, notes.response, notes.status, notes.summary) == (
        Note, True, Answer, 201, "Add a note.")
    assert (by_path["/items/{item_id}/close"].body, by_path["/items/{item_id}/close"].body_required) == (Note, False)
    assert by_path["/items/{item_id}/ping"].body is None


def test_body_param_reads_the_signature():
    def required(caller: Caller, request: Request, *, body: Note) -> None: ...
    def optional(caller: Caller, request: Request, *, body: Note | None = None) -> None: ...
    def none(caller: Caller, request: Request, item_id: str) -> None: ...

    assert body_param(required) == BodyParam(model=Note, required=True)
    assert body_param(optional) == BodyParam(model=Note, required=False)
    assert body_param(none) is None


def _positional(caller: Caller, request: Request, body: Note) -> None: ...
def _not_a_model(caller: Caller, request: Request, *, body: dict[str, str]) -> None: ...
def _ambiguous(caller: Caller, request: Request, *, body: Note | Answer) -> None: ...
def _unannotated(caller: Caller, request: Request, *, body) -> None: ...


@pytest.mark.parametrize("view", [_positional, _not_a_model, _ambiguous, _unannotated])
def test_a_malformed_body_declaration_fails_at_import(routes, view):
    with pytest.raises(TypeError, match="body parameter"):
        endpoint(Chalice(app_name="x"), "/x", methods=["POST"], allow={PrincipalKind.APP})(view)
    assert routes == []


def test_a_path_parameter_may_not_be_called_body(routes):
    def view(caller: Caller, request: Request, *, body: Note) -> None: ...

    with pytest.raises(TypeError, match="path parameter"):
        endpoint(Chalice(app_name="x"), "/x/{body}", methods=["POST"], allow={PrincipalKind.APP})(view)


def test_no_view_parses_its_own_body():
    """Bodies are parsed by the endpoint decorator only; a view that reads one declares ``*, body: Model``."""
    offenders = [f"{path.name}:{n}" for path in sorted(API.glob("*.py")) if path.name != "http.py"
                 for n, line in enumerate(path.read_text().splitlines(), 1)
                 if re.search(r"\bparse_body\b|\braw_body\b|\.json_body\b", line)]

    assert offenders == []
    assert not hasattr(http, "parse_body")
