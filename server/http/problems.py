"""Every error leaves the server as an RFC 9457 problem document (application/problem+json).

One place maps domain errors (``server.errors.HallqError``, with their headers such as
``WWW-Authenticate`` and ``Retry-After``), invalid requests, unknown routes and unexpected
exceptions; client input never produces an unexplained 500. Every answer carries a
catalogued ``code`` (``server.errors.CATALOGUE``) and Chinese and English text.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from server.errors import CATALOGUE, HallqError

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"
RESERVED = {"type", "title", "status", "detail", "code", "zh", "en", "instance"}


class Problem(BaseModel):
    """RFC 9457 problem details, with a stable code and Chinese/English text."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(examples=["https://hallq.dev/problems/window_not_open"])
    title: str
    status: int
    detail: str
    code: str = Field(examples=["window_not_open"])
    zh: str
    en: str
    errors: list[dict[str, Any]] | None = Field(default=None, description="Field errors of an invalid request")


def problem_type(code: str) -> str:
    """The problem ``type`` URI of a stable error code."""
    return f"/problems/{code}"


def problem_response(
    status: int, code: str, zh: str, en: str, *, instance: str | None = None, **extra: Any
) -> JSONResponse:
    """A problem+json response."""
    body: dict[str, Any] = {
        "type": problem_type(code),
        "title": HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error",
        "status": status,
        "detail": en,
        "code": code,
        "zh": zh,
        "en": en,
    }
    if instance:
        body["instance"] = instance
    for key, value in extra.items():
        if key not in RESERVED:
            body[key] = jsonable_encoder(value)
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE)


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    # ("body", "level") -> "level"; ("path", "number") -> "number"
    where = ("body", "path", "query", "header")
    parts = [str(p) for p in (loc[1:] if loc and loc[0] in where else loc)]
    return ".".join(parts) or str(loc[0] if loc else "body")


async def hallq_error(request: Request, exc: Exception) -> JSONResponse:
    """Domain refusal → its status, stable code and headers."""
    assert isinstance(exc, HallqError)
    response = problem_response(exc.status, exc.code, exc.zh, exc.en, instance=request.url.path, **exc.extra)
    response.headers.update(exc.headers)
    return response


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    """Invalid body, path or query → 422 naming every field."""
    assert isinstance(exc, RequestValidationError)
    errors = []
    for err in exc.errors():
        loc = tuple(err.get("loc", ()))
        errors.append({"field": _field(loc), "loc": list(loc), "message": err.get("msg", ""), "kind": err.get("type")})
    fields = ", ".join(dict.fromkeys(e["field"] for e in errors)) or "body"
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or "invalid request"
    return problem_response(
        422, "invalid_request", f"请求内容有误：{fields}", f"Invalid request: {detail}",
        instance=request.url.path, errors=errors,
    )


async def http_error(request: Request, exc: Exception) -> JSONResponse:
    """Unknown route, wrong method and other HTTP-level errors."""
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    if status == 404:
        code, en = "not_found", f"No such resource: {request.url.path}"
    elif status == 405:
        code, en = "method_not_allowed", f"Method {request.method} not allowed here"
    else:
        code = "http_error"
        en = str(exc.detail) if exc.detail else HTTPStatus(status).phrase
    zh = CATALOGUE[code][0]
    response = problem_response(status, code, zh, en, instance=request.url.path)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    """A bug: log it with its traceback and answer with a problem instead of a bare 500."""
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    zh, en = CATALOGUE["internal_error"]
    return problem_response(500, "internal_error", zh, en, instance=request.url.path)


def install(app: FastAPI) -> None:
    """Register the problem handlers on the app (the only exception handlers it has)."""
    app.add_exception_handler(HallqError, hallq_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected_error)


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the problem statuses a route can answer with."""
    described = {
        403: "Refused by a business rule (daily limit, opening hours, per-person limit)",
        404: "Unknown service, window or ticket",
        409: "Impossible in the current state (invalid transition, window not open, already rated)",
        422: "Invalid request body or path; `errors` names each field",
    }
    return {
        s: {"model": Problem, "description": described.get(s, HTTPStatus(s).phrase), "content": {MEDIA_TYPE: {}}}
        for s in statuses
    }
