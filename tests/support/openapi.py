"""Every API answer a test receives is checked against the published OpenAPI document.

``OpenApiClient`` is the test client of every test (tests/conftest.py sets it as the app's
``test_client_class``): each response to a path under ``/api/`` is checked against the
document the app serves at ``/api/v1/openapi.json`` — the status is one the operation lists,
the content type is the documented one, the body validates against its schema (JSON Schema
Draft 2020-12, formats checked) and documented required headers are present. A path or
method the document does not describe must answer the documented error body (404, or 405
with ``Allow``). Anything else fails the test there and then, naming the operation, the status
and what is wrong, so the document and the behaviour cannot drift apart unnoticed: a client
generated from the document parses every answer.

``problems()`` is the check itself, on plain values, for answers that come by another road
(schemathesis' own WSGI client, a live server).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from werkzeug.datastructures import Headers
from werkzeug.test import TestResponse

from consult_hub.extensions import limiter

DOCUMENT_PATH = "/api/v1/openapi.json"
API_PREFIX = "/api/"
BASE_URI = "urn:consult-hub:openapi"
# The formats the document uses; without their checkers (rfc3339-validator, rfc3986-validator)
# FormatChecker silently passes anything, so their absence is an error, not a skip.
FORMATS = ("date", "date-time", "uri")
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


class UndocumentedResponse(AssertionError):
    """An API answer that its OpenAPI document does not describe."""


def _pointer(*parts: str) -> str:
    return "".join("/" + part.replace("~", "~0").replace("/", "~1") for part in parts)


@dataclass(frozen=True)
class Operation:
    method: str
    template: str  # as the document writes it, e.g. /issues/{reference}
    spec: dict[str, Any]

    @property
    def name(self) -> str:
        label = self.spec.get("operationId", "?")
        return f"{label} ({self.method.upper()} {self.template})"


class Document:
    """The published document, indexed for matching answers to operations."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        server = document.get("servers", [{"url": ""}])[0]["url"].rstrip("/")
        self.server = server
        routes = []
        for template in document["paths"]:
            pattern = re.sub(r"\\\{[^/{}]+\\\}", "[^/]+", re.escape(template))
            # Concrete paths win over templated ones (OpenAPI 3.1 § Paths Object).
            routes.append((template.count("{"), template, re.compile(server + pattern)))
        self.routes = [(template, regex) for _n, template, regex in sorted(routes)]
        missing = [f for f in FORMATS if f not in FormatChecker().checkers]
        if missing:
            raise RuntimeError(f"jsonschema cannot check the formats {missing}: install "
                               "rfc3339-validator and rfc3986-validator (the dev extra does)")
        self.registry = Registry().with_resource(
            BASE_URI, Resource(contents=document, specification=DRAFT202012))
        self._validators: dict[str, Draft202012Validator] = {}

    def validator(self, pointer: str) -> Draft202012Validator:
        """A validator of the schema at ``pointer``; its relative ``$ref``s resolve in the
        document, as they do for a reader of it."""
        if pointer not in self._validators:
            self._validators[pointer] = Draft202012Validator(
                {"$ref": f"{BASE_URI}#{pointer}"}, registry=self.registry,
                format_checker=FormatChecker())
        return self._validators[pointer]

    def template(self, path: str) -> str | None:
        return next((template for template, regex in self.routes if regex.fullmatch(path)),
                    None)

    def resolve(self, node: dict[str, Any], pointer: str) -> tuple[dict[str, Any], str]:
        """A Response Object, following its ``$ref`` (local ones, as the document has)."""
        while "$ref" in node:
            target = node["$ref"]
            assert target.startswith("#/"), f"only local references are resolved: {target}"
            pointer = target[1:]
            node = self.document
            for part in pointer.strip("/").split("/"):
                node = node[part.replace("~1", "/").replace("~0", "~")]
        return node, pointer


def problems(document: Document, method: str, path: str, status: int,
             headers: Mapping[str, str], body: bytes) -> list[str]:
    """What is wrong with this answer by the document; empty when it conforms."""
    method = method.lower()
    headers = Headers(list(headers.items()))  # names case-insensitive, whoever sent them
    template = document.template(path)
    if template is None:
        return _undocumented(document, f"{method.upper()} {path} (no such path)", status,
                             headers, body, expect=404)
    operations = document.document["paths"][template]
    spec = operations.get("get" if method == "head" else method)
    allowed = sorted(m.upper() for m in operations if m in METHODS)
    if spec is None and method == "options":
        # HTTP's own OPTIONS (RFC 9110 § 9.3.7), answered by Flask for every route: no body,
        # and Allow names the documented methods.
        allow = {m.strip() for m in headers.get("Allow", "").split(",")}
        if status in (200, 204) and not body and set(allowed) <= allow:
            return []
        return [f"OPTIONS {template} answered {status} with Allow {headers.get('Allow')!r} "
                f"and {len(body)} bytes; expected no body and Allow listing {allowed}"]
    if spec is None:
        found = _undocumented(document, f"{method.upper()} {template} (method not documented)",
                              status, headers, body, expect=405)
        if status == 405 and not found:
            allow = {m.strip() for m in headers.get("Allow", "").split(",")}
            if not set(allowed) <= allow:
                found.append(f"{method.upper()} {template} answered 405 with Allow "
                             f"{headers.get('Allow')!r}, not listing {allowed}")
        return found
    operation = Operation(method, template, spec)
    responses = spec["responses"]
    key = next((k for k in (str(status), f"{str(status)[0]}XX", "default") if k in responses),
               None)
    base = _pointer("paths", template, operation.method if method != "head" else "get",
                    "responses")
    if key is None:
        return [f"{operation.name} answered {status}, which the document does not list for "
                f"it (documented: {', '.join(responses)}); body: {_excerpt(body)}"]
    response, pointer = document.resolve(responses[key], base + _pointer(key))
    where = f"{operation.name} → {status}"
    return _conforms(document, where, response, pointer, headers, body,
                     check_body=method != "head")


def _undocumented(document: Document, where: str, status: int, headers: Mapping[str, str],
                  body: bytes, *, expect: int) -> list[str]:
    """A request the document does not describe: the API's error answer, with its status."""
    if status != expect:
        return [f"{where} answered {status}; a request outside the document must answer "
                f"{expect} with the Error body; body: {_excerpt(body)}"]
    error = {"content": {"application/json": {}}}
    return _conforms(document, f"{where} → {status}", error, "", headers, body,
                     schema_pointer=_pointer("components", "schemas", "Error"))


def _conforms(document: Document, where: str, response: dict[str, Any], pointer: str,
              headers: Mapping[str, str], body: bytes, *, check_body: bool = True,
              schema_pointer: str | None = None) -> list[str]:
    found = []
    for name, header in response.get("headers", {}).items():
        value = headers.get(name)
        if value is None:
            if header.get("required"):
                found.append(f"{where}: the documented header {name} is missing")
            continue
        if "schema" in header and pointer:
            validator = document.validator(pointer + _pointer("headers", name, "schema"))
            error = best_match(validator.iter_errors(value))
            if error is not None:
                found.append(f"{where}: header {name}: {error.message}")
    content = response.get("content")
    mimetype = headers.get("Content-Type", "").split(";")[0].strip().lower()
    if not content:
        if body and check_body:
            found.append(f"{where}: documented without a body, but answered "
                         f"{mimetype or 'no type'}: {_excerpt(body)}")
        return found
    if mimetype not in content:
        found.append(f"{where}: Content-Type {headers.get('Content-Type')!r} is not documented "
                     f"(documented: {', '.join(content)})")
        return found
    media = content[mimetype]
    if not check_body or ("schema" not in media and schema_pointer is None):
        return found
    if mimetype == "application/json" or mimetype.endswith("+json"):
        try:
            instance = json.loads(body)
        except ValueError as error:
            return [*found, f"{where}: the body is not JSON ({error}): {_excerpt(body)}"]
        validator = document.validator(
            schema_pointer or pointer + _pointer("content", mimetype, "schema"))
        errors = list(validator.iter_errors(instance))
        if errors:
            best = best_match(errors)
            found.append(f"{where}: the body does not match its schema ({len(errors)} "
                         f"error{'s' if len(errors) != 1 else ''}); at {best.json_path}: "
                         f"{best.message} (schema path {'/'.join(map(str, best.schema_path))})")
    return found


def _excerpt(body: bytes, limit: int = 300) -> str:
    text = body.decode("utf-8", "replace")
    return text if len(text) <= limit else text[:limit] + "…"


_documents: dict[int, Document] = {}


def published(app: Flask) -> Document:
    """The document ``app`` serves, fetched once per app.

    Fetched with rate limits off, so the fetch never counts against a test's own requests.
    """
    key = id(app)
    if key not in _documents:
        enabled, limiter.enabled = limiter.enabled, False
        try:
            answer = FlaskClient(app, app.response_class).get(DOCUMENT_PATH)
        finally:
            limiter.enabled = enabled
        assert answer.status_code == 200, f"{DOCUMENT_PATH} answered {answer.status_code}"
        _documents[key] = Document(answer.get_json())
    return _documents[key]


def check(app: Flask, method: str, path: str, status: int, headers: Mapping[str, str],
          body: bytes) -> None:
    """Fail with every problem of an answer to a path under /api/."""
    if not path.startswith(API_PREFIX):
        return
    found = problems(published(app), method, path, status, headers, body)
    if found:
        raise UndocumentedResponse("The answer does not match the OpenAPI document "
                                   f"({DOCUMENT_PATH}):\n  " + "\n  ".join(found))


def _answers(response: TestResponse) -> Iterator[TestResponse]:
    yield from getattr(response, "history", ())
    yield response


class OpenApiClient(FlaskClient):
    """A Flask test client whose every answer under /api/ must match the OpenAPI document."""

    def open(self, *args: Any, **kwargs: Any) -> TestResponse:
        response = super().open(*args, **kwargs)
        for answer in _answers(response):
            request = answer.request
            check(self.application, request.method, request.path, answer.status_code,
                  answer.headers, answer.get_data())
        return response
