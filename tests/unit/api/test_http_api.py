"""The endpoint decorator: a view declares its JSON body (``*, body: Model``) and query string
(``*, query: Model``) once and gets them parsed."""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Literal

import pytest
from chalice.app import Chalice, Request
from chalice.test import Client
from pydantic import Field

from chalicelib.api import http
from chalicelib.api.http import BodyParam, Caller, body_param, endpoint, query_param
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


class Listing(Message):
    kind: str = Field(min_length=1)
    state: Literal["open", "closed"] | None = None
    limit: int = Field(10, ge=1, le=100)


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

    @endpoint(app, "/items", allow={PrincipalKind.APP})
    def list_items(caller: Caller, request: Request, *, query: Listing) -> dict[str, Any]:
        """List items."""
        calls.append({"view": "list_items", "query": query})
        return query.model_dump()

    @endpoint(app, "/items/{item_id}/tag", methods=["POST"], allow={PrincipalKind.APP})
    def tag(caller: Caller, request: Request, item_id: str, *, body: Note, query: Listing) -> dict[str, Any]:
        calls.append({"view": "tag", "item_id": item_id, "body": body, "query": query})
        return {"ok": True}

    return app


def post(app: Chalice, path: str, body: bytes, *, token: str = "ok") -> tuple[int, dict[str, Any]]:
    with Client(app) as client:
        reply = client.http.post(path, body=body, headers={"Authorization": f"Bearer {token}",
                                                           "Content-Type": "application/json"})
    return reply.status_code, json.loads(reply.body)


def get(app: Chalice, path: str, *, token: str = "ok") -> tuple[int, dict[str, Any]]:
    with Client(app) as client:
        reply = client.http.get(path, headers={"Authorization": f"Bearer {token}"})
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
    assert (by_path["/items"].query, by_path["/items"].body, by_path["/items"].summary) == (Listing, None, "List items.")
    assert (by_path["/items/{item_id}/tag"].query, by_path["/items/{item_id}/tag"].body) == (Listing, Note)
    assert by_path["/items/{item_id}/notes"].query is None
    assert by_path["/items/{item_id}/ping"].query is None


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


def test_the_view_gets_the_parsed_query(app, calls, monkeypatch):
    # GIVEN a view declaring `*, query: Listing`, and a spy on the model's parser
    parsed: list[dict[str, Any]] = []
    original: Any = Listing.model_validate.__func__  # type: ignore[attr-defined]

    def spy(cls: type[Listing], /, obj: Any, **kwargs: Any) -> Listing:
        parsed.append(obj)
        result: Listing = original(cls, obj, **kwargs)
        return result

    monkeypatch.setattr(Listing, "model_validate", classmethod(spy))

    # WHEN it is called with a query string (a repeated name keeps its last value)
    status, answer = get(app, "/items?kind=box&limit=1&limit=3")

    # THEN the query string was parsed once and the view got the model instance
    assert status == 200
    assert answer == {"kind": "box", "state": None, "limit": 3}
    assert parsed == [{"kind": "box", "limit": "3"}]
    assert calls == [{"view": "list_items", "query": Listing(kind="box", limit=3)}]


def test_defaults_fill_what_the_query_string_leaves_out(app, calls):
    assert get(app, "/items?kind=box&state=open") == (200, {"kind": "box", "state": "open", "limit": 10})


@pytest.mark.parametrize(("path", "field"), [
    ("/items", "kind"),
    ("/items?kind=", "kind"),
    ("/items?kind=box&limit=0", "limit"),
    ("/items?kind=box&limit=many", "limit"),
    ("/items?kind=box&state=lost", "state"),
    ("/items?kind=box&surprise=1", "surprise"),
])
def test_a_bad_query_is_answered_before_the_view_runs(app, calls, path, field):
    status, answer = get(app, path)

    assert status == 422
    assert answer["error"]["code"] == "validation_failed"
    assert answer["error"]["message"].startswith(f"{field}: ")
    assert calls == []


def test_authentication_comes_before_the_query(app, calls):
    status, answer = get(app, "/items?limit=many", token="bad")

    assert (status, answer["error"]["code"]) == (401, "unauthorized")
    assert calls == []


def test_a_view_gets_both_query_and_body_and_the_query_is_checked_first(app, calls):
    assert post(app, "/items/i-6/tag?kind=box", b'{"text": "hi"}') == (200, {"ok": True})
    assert calls == [{"view": "tag", "item_id": "i-6", "body": Note(text="hi"), "query": Listing(kind="box")}]

    status, answer = post(app, "/items/i-6/tag?limit=0", b"{broken")
    assert (status, answer["error"]["code"]) == (422, "validation_failed")
    assert answer["error"]["message"].startswith("kind: ")

    status, answer = post(app, "/items/i-6/tag?kind=box", b"{broken")
    assert (status, answer["error"]["code"]) == (400, "bad_request")
    assert len(calls) == 1


def test_a_view_without_query_gets_no_query_argument(app, calls):
    status, answer = post(app, "/items/i-7/ping?kind=box&anything=goes", b"")

    assert (status, answer) == (200, {"ok": True})
    assert calls == [{"view": "ping", "item_id": "i-7", "raw": b""}]


def test_query_param_reads_the_signature():
    def declared(caller: Caller, request: Request, item_id: str, *, query: Listing) -> None: ...
    def with_body(caller: Caller, request: Request, *, body: Note, query: Listing) -> None: ...
    def none(caller: Caller, request: Request, *, body: Note) -> None: ...

    assert query_param(declared) is Listing
    assert query_param(with_body) is Listing
    assert query_param(none) is None


A_LISTING = Listing(kind="x")


def _query_positional(caller: Caller, request: Request, query: Listing) -> None: ...
def _query_not_a_model(caller: Caller, request: Request, *, query: dict[str, str]) -> None: ...
def _query_optional(caller: Caller, request: Request, *, query: Listing | None = None) -> None: ...
def _query_with_default(caller: Caller, request: Request, *, query: Listing = A_LISTING) -> None: ...
def _query_unannotated(caller: Caller, request: Request, *, query) -> None: ...
def _query_unresolved(caller: Caller, request: Request, *, query: Missing) -> None: ...  # type: ignore[name-defined] # noqa: F821


@pytest.mark.parametrize("view", [_query_positional, _query_not_a_model, _query_optional, _query_with_default,
                                  _query_unannotated, _query_unresolved])
def test_a_malformed_query_declaration_fails_at_import(routes, view):
    with pytest.raises(TypeError, match=r"query (parameter|annotation)"):
        endpoint(Chalice(app_name="x"), "/x", allow={PrincipalKind.APP})(view)
    assert routes == []


def test_a_path_parameter_may_not_be_called_query(routes):
    def declared(caller: Caller, request: Request, *, query: Listing) -> None: ...

    with pytest.raises(TypeError, match="path parameter"):
        endpoint(Chalice(app_name="x"), "/x/{query}", allow={PrincipalKind.APP})(declared)
    assert routes == []


def test_no_view_parses_its_own_query():
    """Query strings are parsed by the endpoint decorator only; a view that reads one declares ``*, query: Model``."""
    offenders = [f"{path.name}:{n}" for path in sorted(API.glob("*.py")) if path.name != "http.py"
                 for n, line in enumerate(path.read_text().splitlines(), 1)
                 if re.search(r"parse_query\b|\bquery_params\b", line)]

    assert offenders == []
    assert not hasattr(http, "parse_query")


def test_no_view_parses_its_own_body():
    """Bodies are parsed by the endpoint decorator only; a view that reads one declares ``*, body: Model``."""
    offenders = [f"{path.name}:{n}" for path in sorted(API.glob("*.py")) if path.name != "http.py"
                 for n, line in enumerate(path.read_text().splitlines(), 1)
                 if re.search(r"parse_body\b|\braw_body\b|\.json_body\b", line)]

    assert offenders == []
    assert not hasattr(http, "parse_body")
