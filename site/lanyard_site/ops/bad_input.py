"""Input no page can use, refused at the door with a 400 and one clear sentence.

* A NUL byte in any query parameter or form field (name or value): PostgreSQL refuses NUL
  in text, so it would otherwise end as a 500 wherever a value reaches a query.
* A form body that is not UTF-8: Django would decode it with replacement characters and the
  mangled text would be stored.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from django.http import HttpResponse

from ..api.problems import problem_response

FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
NUL = "\x00"


def refuse(message: str, *, path: str = "") -> HttpResponse:
    if path.startswith("/api/"):  # the API's errors are all problem details
        return problem_response(400, message[0].upper() + message[1:])
    return HttpResponse(f"Bad request: {message}\n", status=400, content_type="text/plain; charset=utf-8")


def nul_field(fields) -> str | None:
    """The name of the first field whose name or value holds a NUL byte."""
    for name, values in fields.lists():
        if NUL in name or any(NUL in value for value in values if isinstance(value, str)):
            return name.replace(NUL, "\\x00")
    return None


def form_problem(request) -> str | None:
    content_type = request.content_type or ""
    if content_type == FORM:
        try:
            text = request.body.decode("utf-8")
            parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict")
        except UnicodeDecodeError:
            return "the form was not sent as UTF-8; nothing was saved."
    elif content_type == MULTIPART and any("\ufffd" in v for _, vs in request.POST.lists() for v in vs):
        return "the form was not sent as UTF-8; nothing was saved."  # Django decoded it with replacements
    if content_type in (FORM, MULTIPART) and (name := nul_field(request.POST)) is not None:
        return f"the form field {name!r} contains a NUL byte (\\x00); nothing was saved."
    return None


class BadInputMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if (name := nul_field(request.GET)) is not None:
            return refuse(f"the query parameter {name!r} contains a NUL byte (\\x00).", path=request.path_info)
        if request.method == "POST" and (problem := form_problem(request)) is not None:
            return refuse(problem, path=request.path_info)
        return self.get_response(request)
