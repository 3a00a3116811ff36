"""The one place the API authenticates, parses and maps errors to ``{"error": {code, message}}``."""

from __future__ import annotations

import functools
import inspect
import json
import logging
import re
import types
import typing
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from chalice.app import Blueprint, Chalice, Request, Response
from pydantic import BaseModel, ValidationError

from chalicelib.api.context import platform
from chalicelib.api.json_guard import MAX_JSON_DEPTH, nesting_depth
from chalicelib.api.path_ids import check_path_ids
from chalicelib.errors import ApiError, BadRequest, Forbidden, PayloadTooLarge, ValidationFailed
from chalicelib.models.principal import Principal, PrincipalKind

logger = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)
JSON_HEADERS = {"Content-Type": "application/json"}


@dataclass(frozen=True)
class Caller:
    """The authenticated principal and the address it called from."""

    principal: Principal
    source_ip: str

    @property
    def id(self) -> str:
        return self.principal.principal_id


def error_response(exc: ApiError) -> Response:
    body = {"error": {"code": exc.code, "message": exc.message}}
    return Response(body=body, status_code=exc.status, headers={**JSON_HEADERS, **exc.headers})


def _chalice_code(code: str) -> str:
    """``MethodNotAllowedError`` → ``method_not_allowed``: Chalice's own error codes in our spelling."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", code.removesuffix("Error")).lower()


INTERNAL_ERROR = ApiError("internal error; the request id identifies it in the logs", code="internal_error", status=500)


def _ours(body: Any) -> bool:
    return isinstance(body, dict) and isinstance(body.get("error"), dict)


def error_boundary(request: Request, get_response: Callable[[Request], Response]) -> Response:
    """HTTP middleware: every error answer is ``{"error": {code, message}}``.

    Chalice answers an unsupported method (405), media type (415) or an unhandled exception (500) in its
    own ``{"Code", "Message"}`` shape; this rewrites those and turns any exception that escapes a view
    into a logged 500 that tells the caller nothing about the internals.
    """
    try:
        response = get_response(request)
    except Exception:
        logger.exception("unhandled error")
        return error_response(INTERNAL_ERROR)
    body = response.body
    if response.status_code >= 500 and not _ours(body):  # Chalice caught (and logged) a view's exception
        return error_response(INTERNAL_ERROR)
    if response.status_code >= 400 and isinstance(body, dict) and set(body) == {"Code", "Message"}:
        headers = {k: v if isinstance(v, str) else ", ".join(v) for k, v in response.headers.items()
                   if k.lower() != "content-type"}
        return error_response(ApiError(str(body["Message"]), code=_chalice_code(str(body["Code"])),
                                       status=response.status_code, headers=headers))
    return response


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err.get("loc", ())) or "body"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "; ".join(parts)


def source_ip(request: Request) -> str:
    return str((request.context.get("identity") or {}).get("sourceIp", ""))


def _parse_body[M: BaseModel](request: Request, model: type[M]) -> M:
    """The JSON body as ``model``: 413 over the size limit, 400 when empty, too deep or malformed, 422 when
    invalid. Validation is strict: JSON's own types only (``true`` is no number, ``"123"`` no integer)."""
    raw = request.raw_body or b""
    if len(raw) > platform().settings.api_max_body_bytes:
        raise PayloadTooLarge(f"body exceeds {platform().settings.api_max_body_bytes} bytes")
    if not raw.strip():
        raise BadRequest("a JSON body is required")
    if nesting_depth(raw if isinstance(raw, bytes) else raw.encode()) > MAX_JSON_DEPTH:
        raise BadRequest(f"JSON nested too deep (more than {MAX_JSON_DEPTH} levels)")
    try:
        json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"malformed JSON: {exc}") from exc
    try:
        return model.model_validate_json(raw, strict=True)
    except ValidationError as exc:
        raise ValidationFailed(_validation_message(exc)) from exc


def _parse_query[M: BaseModel](request: Request, model: type[M]) -> M:
    """The query string as ``model`` (a repeated name keeps its last value): 422 when invalid."""
    params = dict(request.query_params or {})
    try:
        return model.model_validate(params)
    except ValidationError as exc:
        raise ValidationFailed(_validation_message(exc)) from exc


def authenticate(request: Request, allow: Collection[PrincipalKind]) -> Caller:
    principal = platform().principals.authenticate(request.headers.get("authorization"))
    address = source_ip(request)
    if not principal.allows_address(address):
        raise Forbidden(f"source address {address} is not registered for {principal.principal_id}")
    if principal.kind not in allow:
        raise Forbidden(f"a {principal.kind.value} principal may not call this route")
    return Caller(principal=principal, source_ip=address)


def _to_response(result: Any, status: int) -> Response:
    if isinstance(result, Response):
        return result
    if isinstance(result, BaseModel):
        result = result.model_dump(mode="json")
    return Response(body=result, status_code=status, headers=dict(JSON_HEADERS))


@dataclass(frozen=True)
class RouteDoc:
    """What the OpenAPI document says about one registered route."""

    path: str
    methods: tuple[str, ...]
    allow: tuple[PrincipalKind, ...]
    status: int
    summary: str
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    response: type[BaseModel] | None
    body_required: bool = True
    idempotent: bool = False  # honours an Idempotency-Key header
    operation_id: str = ""  # the view's name: what a generated client calls the method
    tag: str = ""  # the view's module: one group per feature
    module: str = ""
    raw_media: str | None = None  # the media type of a non-JSON body (``*, raw: RawBody``)
    media_responses: tuple[tuple[str, str, str], ...] = ()  # (status, description, media type) not JSON-or-Error


ROUTES: list[RouteDoc] = []


def _response_model(view: Callable[..., Any]) -> type[BaseModel] | None:
    try:
        returned = typing.get_type_hints(view).get("return")
    except (NameError, TypeError):
        return None
    return returned if isinstance(returned, type) and issubclass(returned, BaseModel) else None


@dataclass(frozen=True)
class BodyParam:
    """The request body a view declares with its keyword-only ``body`` parameter."""

    model: type[BaseModel]
    required: bool


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """``Model`` for an annotation ``Model`` or ``Model | None``; None for anything else."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        annotation = members[0] if len(members) == 1 else None
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def _declared(view: Callable[..., Any], name: str) -> tuple[inspect.Parameter, Any] | None:
    """The keyword-only parameter ``name`` of ``view`` and its resolved annotation; None without one."""
    param = inspect.signature(view).parameters.get(name)
    if param is None:
        return None
    where = f"{view.__module__}.{view.__qualname__}"
    if param.kind is not inspect.Parameter.KEYWORD_ONLY:
        raise TypeError(f"{where}: the {name} parameter must be keyword-only (after *)")
    try:
        annotation = typing.get_type_hints(view).get(name)
    except NameError as exc:
        raise TypeError(f"{where}: the {name} annotation does not resolve: {exc}") from exc
    return param, annotation


def body_param(view: Callable[..., Any]) -> BodyParam | None:
    """The body model a view declares (``*, body: Model``), read from its signature; None without one.

    A default (``body: Model | None = None``) makes the body optional: an empty body leaves the default.
    A ``body`` parameter that is not keyword-only or not annotated with a pydantic model is a TypeError,
    raised when the module is imported.
    """
    declared = _declared(view, "body")
    if declared is None:
        return None
    param, annotation = declared
    model = _model_of(annotation)
    if model is None:
        raise TypeError(f"{view.__module__}.{view.__qualname__}: the body parameter must be annotated with "
                        f"a pydantic model, not {annotation!r}")
    return BodyParam(model=model, required=param.default is inspect.Parameter.empty)


def query_param(view: Callable[..., Any]) -> type[BaseModel] | None:
    """The query-string model a view declares (``*, query: Model``), read from its signature; None without one.

    The query string is always parsed (an absent one is an empty one), so the parameter takes no
    default and is not optional: give the model's fields defaults instead. A ``query`` parameter that
    is not keyword-only, has a default, or is not annotated with exactly a pydantic model is a
    TypeError, raised when the module is imported.
    """
    declared = _declared(view, "query")
    if declared is None:
        return None
    param, annotation = declared
    where = f"{view.__module__}.{view.__qualname__}"
    if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
        raise TypeError(f"{where}: the query parameter must be annotated with a pydantic model, not {annotation!r}")
    if param.default is not inspect.Parameter.empty:
        raise TypeError(f"{where}: the query parameter takes no default (give the model's fields defaults)")
    return annotation


@dataclass(frozen=True)
class RawBody:
    """A body that is not JSON (DICOM, multipart), as it came: its Content-Type and its bytes. A view that
    takes one declares ``*, raw: RawBody`` and its route's ``content_types``; the view's service parses it."""

    content_type: str
    data: bytes


def _raw_body(request: Request) -> RawBody:
    raw = request.raw_body or b""
    return RawBody(content_type=request.headers.get("content-type", ""),
                   data=raw if isinstance(raw, bytes) else raw.encode("utf-8"))


class View(Protocol):
    """A view: ``(caller, request, *path_params, *, body=..., query=...)``, answering a model, JSON-able value
    or Response."""

    def __call__(self, caller: Caller, request: Request, /, *args: Any, **kwargs: Any) -> Any: ...


V = TypeVar("V", bound=View)
DeniedHook = Callable[[Request, ApiError], None]
"""Called with a request that authentication refused (401/403) before any view ran."""


def endpoint(router: Blueprint | Chalice, path: str, *, methods: Collection[str] = ("GET",),
             allow: Collection[PrincipalKind], status: int = 200,
             on_denied: DeniedHook | None = None, idempotent: bool = False,
             content_types: Collection[str] = ("application/json",), raw_media: str | None = None,
             media_responses: Collection[tuple[str, str, str]] = ()) -> Callable[[V], V]:
    """Register a view that receives ``(caller, request, **path_params)``; auth, query, body and errors here.

    A view that takes a JSON body declares it once, as a keyword-only parameter: ``*, body: Model``.
    The body is parsed and validated here, after authentication and before the view runs (413 too
    large, 400 empty or malformed, 422 invalid), and the view gets the model instance; the OpenAPI
    document reads the same annotation. A default (``body: Model | None = None``) makes it optional.

    A view that reads the query string declares it the same way: ``*, query: Model``. It is parsed
    after authentication and before the body (422 invalid, naming the field), and the OpenAPI document
    lists the model's fields as its query parameters. The response model is read from the view's
    return annotation.

    ``idempotent`` documents the ``Idempotency-Key`` header the view honours (see ``guards.idempotent_create``).
    ``content_types`` are the request media types the route accepts (others: 415); a view taking a non-JSON
    body declares ``*, raw: RawBody`` and documents its media type as ``raw_media``; ``media_responses``
    documents answers that are not JSON (status, description, media type).

    ``on_denied`` sees every refused authentication (e.g. to audit it); its own failure is logged,
    never turned into a different answer.
    """

    def decorator(view: V) -> V:
        declared = body_param(view)
        query = query_param(view)
        takes_raw = "raw" in inspect.signature(view).parameters
        for name, taken in (("body", declared is not None), ("query", query is not None)):
            if taken and f"{{{name}}}" in path:
                raise TypeError(f"{path}: a path parameter may not be called {name} (the view's {name} parameter)")

        @functools.wraps(view)
        def wrapper(**params: str) -> Response:
            request = router.current_request
            assert request is not None, "called outside a request"
            try:
                try:
                    caller = authenticate(request, allow)
                except ApiError as denied:
                    if on_denied is not None:
                        try:
                            on_denied(request, denied)
                        except Exception:
                            logger.exception("on_denied hook failed for %s", path)
                    raise
                check_path_ids(params)
                kwargs: dict[str, Any] = dict(params)
                if query is not None:
                    kwargs["query"] = _parse_query(request, query)
                if declared is not None and (declared.required or (request.raw_body or b"").strip()):
                    kwargs["body"] = _parse_body(request, declared.model)
                if takes_raw:
                    kwargs["raw"] = _raw_body(request)
                return _to_response(view(caller, request, **kwargs), status)
            except ApiError as exc:
                return error_response(exc)
            except ValidationError as exc:  # a service rejected a value while building a model
                return error_response(ValidationFailed(_validation_message(exc)))

        operation_id = getattr(view, "__name__", "")  # unique per document (tests/unit/api/test_openapi_contract.py)
        router.route(path, methods=list(methods), content_types=list(content_types))(wrapper)
        summary = (view.__doc__ or getattr(view, "__name__", "view").replace("_", " ")).strip().splitlines()[0]
        ROUTES.append(RouteDoc(path=path, methods=tuple(methods), allow=tuple(sorted(allow)), status=status,
                               summary=summary, body=declared.model if declared else None, query=query,
                               response=_response_model(view), body_required=declared.required if declared else True,
                               idempotent=idempotent, operation_id=operation_id,
                               tag=view.__module__.rsplit(".", 1)[-1].replace("_", "-"), module=view.__module__,
                               raw_media=raw_media, media_responses=tuple(media_responses)))
        return view

    return decorator
