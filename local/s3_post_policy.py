"""Presigned POST policies enforced in front of the emulator, as S3 enforces them (moto stores whatever is posted).

S3 ("Creating a POST policy", Amazon S3 API reference) refuses an upload whose policy has expired (403
AccessDenied), whose form fields fail a condition (exact match, ``eq``, ``starts-with``) or are not covered by
one (403 AccessDenied), or whose file lies outside ``content-length-range`` (400 EntityTooLarge /
EntityTooSmall). The signature itself is not checked (the emulator accepts any credentials).
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

from werkzeug.formparser import parse_form_data

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
# Form fields a policy need not cover (S3: the signature, the file, the policy itself and x-ignore-*).
_EXEMPT = {"policy", "x-amz-signature", "signature", "awsaccesskeyid", "file"}


class PolicyRefusal(Exception):
    """S3 refuses the upload: ``status``, ``code`` and the message S3 gives."""

    def __init__(self, status: int, code: str, message: str, extra: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, dict(extra or {})


def check_post(policy_b64: str, fields: Mapping[str, str], bucket: str, file_size: int,
               now: datetime | None = None) -> None:
    """Raise PolicyRefusal when S3 would refuse this POST upload."""
    try:
        policy = json.loads(base64.b64decode(policy_b64))
        expiration = datetime.fromisoformat(str(policy["expiration"]).replace("Z", "+00:00"))
        conditions = list(policy.get("conditions", []))
    except (ValueError, KeyError, TypeError) as exc:
        raise PolicyRefusal(400, "InvalidPolicyDocument", "Invalid Policy: Invalid JSON.") from exc
    if (now or datetime.now(UTC)) >= expiration:
        raise PolicyRefusal(403, "AccessDenied", "Invalid according to Policy: Policy expired.")
    values = {name.lower(): value for name, value in fields.items()} | {"bucket": bucket}
    covered = {"bucket"}
    for condition in conditions:
        if isinstance(condition, dict):
            for name, expected in condition.items():
                covered.add(name.lower())
                _require(values.get(name.lower()) == expected, ["eq", f"${name}", expected])
        elif isinstance(condition, list) and condition and condition[0] == "content-length-range":
            low, high = int(condition[1]), int(condition[2])
            if file_size > high:
                raise PolicyRefusal(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size",
                                    {"ProposedSize": str(file_size), "MaxSizeAllowed": str(high)})
            if file_size < low:
                raise PolicyRefusal(400, "EntityTooSmall", "Your proposed upload is smaller than the minimum "
                                    "allowed size", {"ProposedSize": str(file_size), "MinSizeAllowed": str(low)})
        elif isinstance(condition, list) and len(condition) == 3 and condition[0] in ("eq", "starts-with"):
            operator, name, expected = condition[0], str(condition[1]).lstrip("$").lower(), str(condition[2])
            covered.add(name)
            actual = values.get(name)
            ok = actual == expected if operator == "eq" else actual is not None and actual.startswith(expected)
            _require(ok, condition)
        else:
            raise PolicyRefusal(400, "InvalidPolicyDocument", f"Invalid Policy: Invalid condition {condition!r}.")
    extra = sorted(n for n in values if n not in covered and n not in _EXEMPT and not n.startswith("x-ignore-"))
    if extra:
        raise PolicyRefusal(403, "AccessDenied", f"Invalid according to Policy: Extra input fields: {extra[0]}")


def _require(ok: bool, condition: Any) -> None:
    if not ok:
        raise PolicyRefusal(403, "AccessDenied",
                            f"Invalid according to Policy: Policy Condition failed: {json.dumps(condition)}")


class PostPolicyGate:
    """WSGI middleware: a browser-style POST upload (multipart/form-data to a bucket) reaches the emulator only
    when its policy allows it; otherwise S3's XML error."""

    def __init__(self, app: WsgiApp) -> None:
        self._app = app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "POST" or not str(environ.get("CONTENT_TYPE", "")).startswith(
                "multipart/form-data"):
            return self._app(environ, start_response)
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(body)  # moto reads the same bytes after us
        _, form, files = parse_form_data({**environ, "wsgi.input": io.BytesIO(body)})
        upload = files.get("file")
        policy = form.get("policy") or form.get("Policy")
        if upload is None or policy is None:
            return self._app(environ, start_response)
        bucket = str(environ.get("PATH_INFO", "/")).strip("/").split("/")[0] or str(
            environ.get("HTTP_HOST", "")).split(".")[0]
        try:
            check_post(policy, dict(form.items()), bucket, len(upload.read()))
        except PolicyRefusal as refusal:
            extra = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in refusal.extra.items())
            xml = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{refusal.code}</Code>'
                   f"<Message>{escape(refusal.message)}</Message>{extra}<RequestId>local</RequestId></Error>").encode()
            start_response(f"{refusal.status} {'Forbidden' if refusal.status == 403 else 'Bad Request'}",
                           [("Content-Type", "application/xml"), ("Content-Length", str(len(xml)))])
            return [xml]
        return self._app(environ, start_response)
