"""JSON request bodies validated through models, with MoonTV's messages and an accurate OpenAPI.

The body is read with ``read_json_object`` (size cap and its messages for empty, non-JSON and non-object
bodies), then validated through the model; a failure is a ``RequestValidationError``, which the app's
handler answers with the first ``ValueError`` message a validator raised (see ``moontv.web.errors``).
FastAPI's own body parsing is not used because it reads bodies without a size cap.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError, ValidatorFunctionWrapHandler
from starlette.requests import Request

from moontv.web.responses import read_json_object

Model = TypeVar("Model", bound=BaseModel)


def validated(model: type[Model], data: Any) -> Model:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False)) from None


def json_body(model: type[Model]) -> Callable[[Request], Awaitable[Model]]:
    """A dependency: the request's JSON object validated as ``model``."""

    async def read(request: Request) -> Model:
        return validated(model, await read_json_object(request))

    return read


def failing_with(message: str) -> Callable[[Any, ValidatorFunctionWrapHandler], Any]:
    """A wrap validator: whatever fails inside the field is reported as ``message``."""

    def wrap(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        try:
            return handler(value)
        except ValidationError:
            raise ValueError(message) from None

    return wrap


def documented_body(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` describing ``model`` as the JSON request body (nested models inlined)."""
    schema = model.model_json_schema()
    definitions = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return inline(definitions[ref.removeprefix("#/$defs/")])
            return {key: inline(value) for key, value in node.items()}
        if isinstance(node, list):
            return [inline(item) for item in node]
        return node

    return {"requestBody": {"required": True, "content": {"application/json": {"schema": inline(schema)}}}}
