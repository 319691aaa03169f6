"""The OpenAPI schema told true: the refusals every route can answer, added where routes can't say.

Some answers come from layers a route does not declare: the body parser (400 on a body that is
not JSON), the body-size middleware (413), the failed-authentication throttle (429), and the
service errors, which answer 422 as `{"detail", "field"}` beside FastAPI's own list of
validation errors. Link routes (`/s/…`, `/r/…`, `/u/…`) answer 404 for a link that is not valid
and 410 for one that has expired, as HTML pages on the pages and as JSON in the chat.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

_API_ERROR = {"$ref": "#/components/schemas/ApiError"}
_VALIDATION = {"$ref": "#/components/schemas/HTTPValidationError"}
_JSON_ERROR = {"application/json": {"schema": _API_ERROR}}
_PAGE = {"text/html": {"schema": {"type": "string"}}}
_LINK_PREFIXES = ("/s/", "/r/", "/u/")
_PAGE_PREFIXES = ("/r/", "/u/")
_API_PREFIX = "/api/"


def install(app: FastAPI) -> None:
    """Serve the amended schema at /openapi.json (built once, on first request)."""

    def schema() -> dict[str, Any]:
        if app.openapi_schema is None:
            generated = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = amend(generated)
        return app.openapi_schema

    app.openapi = schema  # type: ignore[method-assign]


def amend(schema: dict[str, Any]) -> dict[str, Any]:
    """Add the answers that routes don't declare; returns the same (changed) schema."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.setdefault("ApiError", _api_error_schema())
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            if method in ("parameters", "summary", "description", "servers"):
                continue
            _amend_operation(path, operation, components)
    return schema


def _amend_operation(path: str, operation: dict[str, Any], components: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    has_body = "requestBody" in operation
    is_page = path.startswith(_PAGE_PREFIXES)
    error_content = _PAGE if is_page else _JSON_ERROR
    if has_body:
        responses.setdefault("400", _answer("The body could not be parsed", error_content))
        responses.setdefault("413", _answer("The body is larger than allowed", error_content))
    if path.startswith(_API_PREFIX):
        responses.setdefault("429", _answer("Too many failed authentications", _JSON_ERROR))
    if path.startswith(_LINK_PREFIXES):
        responses.setdefault("404", _answer("The link is not valid", error_content))
        responses.setdefault("410", _answer("The link has expired", error_content))
    if "422" in responses or has_body or operation.get("parameters"):
        # Validation errors are a list; refusals by the service name one field.
        either: dict[str, Any] = {"anyOf": [_VALIDATION, _API_ERROR]}
        if "HTTPValidationError" not in components:
            either = _API_ERROR
        content = {**_PAGE, "application/json": {"schema": either}} if is_page else None
        responses["422"] = _answer(
            "Invalid input: a list of validation errors, or a refusal naming its field",
            content or {"application/json": {"schema": either}},
        )


def _answer(description: str, content: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": content}


def _api_error_schema() -> dict[str, Any]:
    return {
        "title": "ApiError",
        "type": "object",
        "properties": {
            "detail": {"type": "string", "title": "Detail"},
            "field": {"anyOf": [{"type": "string"}, {"type": "null"}], "title": "Field"},
        },
        "required": ["detail"],
    }
