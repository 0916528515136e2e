"""What django-ninja's OpenAPI document does not say by itself: every error is a problem
(RFC 9457) and which ones each operation may answer, the 304 of a conditional GET, the
headers of an answer, and links from lists to their items (which the fuzzer follows)."""

from __future__ import annotations

from typing import Any

from .schemas import Problem

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_HEADER_TEXT = {"schema": {"type": "string"}}
ANSWER_HEADERS = {
    "ETag": {"description": "The body's entity tag (If-None-Match).", **_HEADER_TEXT},
    "Last-Modified": {"description": "When this URL first answered with this body.", **_HEADER_TEXT},
    "RateLimit-Limit": {"description": "Requests allowed in the window.", **_HEADER_TEXT},
    "RateLimit-Remaining": {"description": "Requests left in the window.", **_HEADER_TEXT},
    "RateLimit-Reset": {"description": "Seconds until the window ends.", **_HEADER_TEXT},
}
RETRY = {"Retry-After": {"description": "Seconds to wait.", **_HEADER_TEXT}}
ERRORS = {
    "400": "A parameter holds a NUL byte.",
    "401": "The token is unknown or revoked, or this needs you signed in.",
    "422": "A parameter or the cursor is not valid.",
    "429": "Too many requests; wait Retry-After seconds.",
    "503": "Read-only mode (for a write), a feature switched off, or a store away; wait Retry-After seconds.",
}
PERSONAL_ERRORS = {"403": "Your account has no lanyard profile, or the CSRF check failed (session writes)."}
# operationId of a list → (operationId of an item, its parameter, where the value is in the list's answer)
LINKS = {
    "events": [("event", "slug", "$response.body#/items/0/slug")],
    "people": [("person", "handle", "$response.body#/items/0/handle")],
    "topics": [("topic", "slug", "$response.body#/items/0/slug")],
    "talks": [("talk", "talk_id", "$response.body#/items/0/id")],
    "event": [("talk", "talk_id", "$response.body#/talks/0/id"),
              ("person", "handle", "$response.body#/speakers/first/0/handle")],
    "talk": [("event", "slug", "$response.body#/event/slug")],
    "my_follows": [("my_unfollow", "handle", "$response.body#/items/0/handle")],
    "my_follow": [("my_unfollow", "handle", "$response.body#/person/handle")],
}


def document(schema: dict[str, Any]) -> dict[str, Any]:
    schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = Problem.model_json_schema(
        ref_template="#/components/schemas/{model}"
    )
    ids = {}
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            operation["operationId"] = _short_id(operation["operationId"])
            ids[operation["operationId"]] = operation
            _responses(path, method, operation)
    for source, targets in LINKS.items():
        if source in ids:
            links = ids[source]["responses"]["200"].setdefault("links", {})
            for target, parameter, expression in targets:
                if target in ids:
                    links[target] = {"operationId": target, "parameters": {parameter: expression}}
    return schema


def _short_id(operation_id: str) -> str:
    """``lanyard_site_api_catalogue_events`` → ``events`` (the function's name, unique here)."""
    return operation_id.rsplit("_api_", 1)[-1].split("_", 1)[-1]


def _responses(path: str, method: str, operation: dict[str, Any]) -> None:
    responses = operation["responses"] = {str(k): v for k, v in operation.get("responses", {}).items()}
    for status, answer in responses.items():
        if status.startswith("2"):
            answer.setdefault("headers", {}).update(ANSWER_HEADERS)
    errors = dict(ERRORS)
    if operation.get("security"):
        errors.update(PERSONAL_ERRORS)
    if "{" in path:
        errors["404"] = "There is nothing by that name or id."
    for status, description in errors.items():
        headers = RETRY if status in ("429", "503") else {}
        responses[status] = {"description": description, "headers": headers,
                             "content": {"application/problem+json": {"schema": PROBLEM_REF}}}
    # gunicorn refuses a request line over 4 KB itself (an HTML page, before Django).
    responses["414"] = {"description": "The address is too long; the web server refused it."}
    if method == "get":
        responses["304"] = {"description": "Not modified since the ETag or the date the request names."}
        if "{slug}" in path or "{handle}" in path:
            responses["301"] = {"description": "An old name: the row lives at Location now.",
                                "headers": {"Location": _HEADER_TEXT}}
