"""A receiver's check of a captured webhook delivery against the published contract (openapi.json ``webhooks``),
written from the documents, not from our code: the body against the request-body schema with the Draft 2020-12
validator OpenAPI 3.1 uses (``#/components/schemas/...`` resolved in the whole document, formats asserted), each
declared header present and matching its schema, and the signature recomputed as the contract's words say."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from local.openapi import CONTRACT

DOCUMENT_URI = "urn:golden-time:openapi"


@dataclass(frozen=True)
class Delivery:
    """One POST as the receiver got it: its headers and the raw body bytes."""

    headers: Mapping[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        found = [value for key, value in self.headers.items() if key.lower() == name.lower()]
        return found[0] if found else None


@cache
def contract() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(CONTRACT.read_text(encoding="utf-8"))
    return document


def operation(webhook: str) -> dict[str, Any]:
    found: dict[str, Any] = contract()["webhooks"][webhook]["post"]
    return found


def _validator(pointer: str) -> Draft202012Validator:
    """A validator of the schema at ``pointer`` inside the document, its refs resolved against the document."""
    registry: Registry[Any] = Registry().with_resource(
        DOCUMENT_URI, Resource.from_contents(contract(), default_specification=DRAFT202012))
    return Draft202012Validator({"$ref": f"{DOCUMENT_URI}#{pointer}"}, registry=registry,
                                format_checker=Draft202012Validator.FORMAT_CHECKER)


def body_errors(webhook: str, body: Any) -> list[str]:
    """Why ``body`` is not a request body of ``webhook`` (empty when it is)."""
    validator = _validator(f"/webhooks/{webhook}/post/requestBody/content/application~1json/schema")
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(body)]


def matching_payloads(webhook: str, body: Any) -> list[str]:
    """The names of the oneOf alternatives (payload models) that ``body`` matches."""
    schema = operation(webhook)["requestBody"]["content"]["application/json"]["schema"]
    names = []
    for option in schema.get("oneOf", [schema]):
        name = option["$ref"].rsplit("/", 1)[-1]
        if not list(_validator(f"/components/schemas/{name}").iter_errors(body)):
            names.append(name)
    return names


def header_errors(webhook: str, delivery: Delivery) -> list[str]:
    """Each declared header parameter missing or not matching its schema."""
    errors = []
    for parameter in operation(webhook)["parameters"]:
        if parameter["in"] != "header":
            continue
        value = delivery.header(parameter["name"])
        if value is None:
            if parameter.get("required"):
                errors.append(f"{parameter['name']} missing")
            continue
        validator = Draft202012Validator(parameter["schema"], format_checker=Draft202012Validator.FORMAT_CHECKER)
        errors += [f"{parameter['name']}: {e.message}" for e in validator.iter_errors(value)]
    return errors


def signature_valid(secret: str, delivery: Delivery, *, tolerance_s: int = 300) -> bool:
    """The documented check: "v1=" + hex HMAC-SHA256, keyed with the secret's UTF-8 bytes, over the ASCII
    X-GT-Timestamp, "." and the raw body; constant-time comparison; the timestamp within the tolerance."""
    stamp, given = delivery.header("X-GT-Timestamp") or "", delivery.header("X-GT-Signature") or ""
    if not stamp.isdigit() or abs(time.time() - int(stamp)) > tolerance_s or not given.startswith("v1="):
        return False
    expected = hmac.new(secret.encode("utf-8"), stamp.encode("ascii") + b"." + delivery.body, hashlib.sha256)
    return hmac.compare_digest(expected.hexdigest(), given.removeprefix("v1="))


def assert_per_contract(webhook: str, delivery: Delivery, secret: str) -> dict[str, Any]:
    """The delivery is what the contract promises (signature, headers, body); returns the parsed body."""
    assert signature_valid(secret, delivery), "the signature does not verify as documented"
    assert header_errors(webhook, delivery) == []
    content_type = (delivery.header("Content-Type") or "").split(";")[0].strip()
    assert content_type in operation(webhook)["requestBody"]["content"], content_type
    body: dict[str, Any] = json.loads(delivery.body)
    assert body_errors(webhook, body) == [], body
    return body
