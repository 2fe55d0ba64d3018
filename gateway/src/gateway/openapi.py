"""The API's description as the gateway really behaves: bearer sign-in, problem+json errors, and /docs
served from the gateway's own pinned Swagger UI (no CDN)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel, ConfigDict, Field

from gateway.deps import principal
from gateway.problems import MEDIA_TYPE

SWAGGER = "/vendor/swagger-ui-dist"  # gateway/web/node_modules/swagger-ui-dist, pinned in package-lock.json
BEARER = "bearerAuth"


class FieldError(BaseModel):
    field: str = Field(
        description="The request field at fault, camelCase as sent (`weights.title`); `body` for the whole body."
    )
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem: every error this API answers has this shape (`application/problem+json`)."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={"additionalProperties": {"description": "extension members, e.g. a quota's limit"}},
    )
    type: str = Field(description="A URI naming the kind of problem.")
    title: str = Field(description="The HTTP status phrase.")
    status: int
    detail: str = Field(description="What went wrong, in words for a person.")
    instance: str = Field(description="The request's path.")
    request_id: str | None = Field(
        default=None, alias="requestId", description="The id the gateway's logs carry; also the X-Request-ID header."
    )
    errors: list[FieldError] | None = Field(default=None, description="Field by field, on a 422.")


# What each status means on this API; every route may answer 422 (any query parameter given twice is one).
STATUS_WORDS = {
    401: "Not signed in, or the access token is expired or not valid.",
    404: "Nothing with that id in the caller's org.",
    422: "The request is not valid; `errors[]` says field by field.",
}
SIGNED_IN_WORDS = {
    429: "Over the caller's rate limit (RATE_LIMIT_RPM a minute): wait `Retry-After` seconds.",
}
POST_WORDS = {
    409: "A request with this Idempotency-Key is still being answered: try again after `Retry-After`.",
    422: "The request is not valid (`errors[]` says field by field), or its Idempotency-Key was used with another "
    "request.",
}

# The IETF RateLimit fields (draft-ietf-httpapi-ratelimit-headers) on every signed-in answer.
RATE_LIMIT_HEADERS = {
    "RateLimit-Policy": {
        "description": 'The per-user policy: `"peruser";q=<requests>;w=60`.',
        "schema": {"type": "string"},
    },
    "RateLimit": {
        "description": 'What is left: `"peruser";r=<requests left>;t=<seconds until the full quota is back>`.',
        "schema": {"type": "string"},
    },
}
RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before trying again.", "schema": {"type": "integer"}}}
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "maxLength": 255},
    "description": "Optional on every POST (1-255 visible ASCII characters), kept 24 h per user: the same key with "
    "the same request returns the stored answer (`Idempotent-Replayed: true`), with another request a 422.",
}

# Parameters FastAPI leaves undescribed, by name: shared names get the same words everywhere.
PARAMETER_WORDS = {
    "limit": "How many items a page holds at most.",
    "cursor": "The `nextCursor` of the previous page; empty for the first page.",
    "status": "Only items in this status; empty for any.",
    "state": "Only items in this state; empty for the default set.",
    "icpId": "Only leads scored against this ICP.",
    "searchRunId": "Only leads a search run found.",
    "minScore": "Only leads scoring at least this (0-100).",
    "maxScore": "Only leads scoring at most this (0-100).",
    "hasEmail": "`yes`: only leads with an email; `no`: only those without.",
    "q": "Text searched in the name, company and email.",
    "filtered": "Leads scoring below their ICP's minimum: `hidden` (the default), `only` or `all`.",
    "sort": "The order: a field name, `-` first for descending.",
    "leadId": "Only those of this lead.",
    "sequenceId": "Only those of this sequence.",
    "stepId": "The step to preview; the first when empty.",
    "variantId": "The step's A/B variant to preview; the first when empty.",
    "channel": "Only threads of this channel (`email`, `sms`); empty for both.",
    "filter": "Which threads: `all`, `needs_reply`, `unread` or `archived`.",
    "before": "The `before` of the previous page: only older items.",
    "after": "The last address of the previous page: only those after it.",
    "idempotency-key": "The caller's key for this request: sent again, it is the same request, never a second one.",
    "authorization": "`Bearer <INBOUND_EMAIL_SECRET>`: the mail provider's shared secret.",
    "x-twilio-signature": "Twilio's signature of the request (HMAC-SHA1 over the URL and fields).",
    "token": "The signed token of an unsubscribe link.",
    "address": "An email address.",
}


def _needs_sign_in(route: APIRoute) -> bool:
    pending = list(route.dependant.dependencies)
    while pending:
        dependant = pending.pop()
        if dependant.call is principal:
            return True
        pending.extend(dependant.dependencies)
    return False


def _problem_response(status: int, existing: dict[str, Any] | None, words: str | None = None) -> dict[str, Any]:
    description = words or STATUS_WORDS.get(status) or (existing or {}).get("description") or "An error."
    return {
        "description": description,
        "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def _describe_parameter(parameter: dict[str, Any]) -> None:
    if parameter.get("description"):
        return
    name = parameter["name"]
    if name in PARAMETER_WORDS:
        parameter["description"] = PARAMETER_WORDS[name]
    elif parameter.get("in") == "path" and name.endswith("_id"):
        parameter["description"] = f"The {name.removesuffix('_id').replace('_', ' ')}'s id."


def document(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document, built once: FastAPI's, corrected where it does not say what the gateway does."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
    )
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}", by_alias=True)
    schemas.update(problem.pop("$defs", {}))
    schemas["Problem"] = problem
    components["securitySchemes"] = {
        BEARER: {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "The `accessToken` of POST /v1/auth/login (or /v1/auth/refresh).",
        }
    }
    secured = {
        (context.path_format, method.lower())
        for context in iter_route_contexts(app.routes)  # routers included, as FastAPI walks them
        if isinstance(route := context.original_route, APIRoute) and _needs_sign_in(route)
        for method in route.methods
    }
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            codes = {"422"}
            words: dict[int, str] = {}
            signed_in = (path, method) in secured
            if signed_in:
                operation["security"] = [{BEARER: []}]
                codes |= {"401", "429"}
                words |= SIGNED_IN_WORDS
            parameters = operation.setdefault("parameters", [])
            if method == "post" and signed_in:
                codes.add("409")
                words |= POST_WORDS
                if not any(p.get("name", "").lower() == "idempotency-key" for p in parameters):
                    parameters.append(dict(IDEMPOTENCY_KEY))
            if any(p.get("in") == "path" for p in parameters):
                codes.add("404")
            codes |= {code for code in responses if code.startswith(("4", "5"))}
            for code in sorted(codes):
                responses[code] = _problem_response(int(code), responses.get(code), words.get(int(code)))
                if code in ("429", "409"):
                    responses[code]["headers"] = dict(RETRY_AFTER)
            if signed_in:
                for code, answer in responses.items():
                    if code.startswith(("2", "4")):
                        answer["headers"] = {**answer.get("headers", {}), **RATE_LIMIT_HEADERS}
            if not parameters:
                del operation["parameters"]
            for parameter in parameters:
                _describe_parameter(parameter)
    app.openapi_schema = schema
    return schema


def install(app: FastAPI) -> None:
    """/openapi.json from `document`; /docs on the Swagger UI under /vendor (the app is built with docs_url=None)."""
    app.openapi = lambda: document(app)  # type: ignore[method-assign]

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} · docs",
            swagger_js_url=f"{SWAGGER}/swagger-ui-bundle.js",
            swagger_css_url=f"{SWAGGER}/swagger-ui.css",
            swagger_favicon_url=f"{SWAGGER}/favicon-32x32.png",
            # Swagger UI would send the document to validator.swagger.io for its badge.
            swagger_ui_parameters={"validatorUrl": None, "persistAuthorization": True},
        )
