"""``ctx.config``: a connection's config vars, as the integration's ``config=`` model.

The parent sends the config as JSON, validated and with its defaults filled; the child makes
it an instance of the model again, so a script reads ``ctx.config.api_url`` with its type
(an ``int`` field is an ``int``, a nested model a model) and an editor knows the names.

Scripts written when ``ctx.config`` was a dict keep working: the instance also answers
``ctx.config["api_url"]``, ``ctx.config.get("api_url", default)``, ``"api_url" in ctx.config``
and ``dict(ctx.config)``, with the JSON values these gave before (a URL as a string). It is an
instance of a subclass made once per model that adds just those methods (none a field of the
model shadows), so ``isinstance(ctx.config, AcmeConfig)`` holds. Without ``config=``,
``ctx.config`` is a read-only dict of whatever config the connection has.
"""

from __future__ import annotations

import functools
from collections.abc import KeysView, Mapping
from types import MappingProxyType
from typing import Any

import orjson
from pydantic import BaseModel, ValidationError

from splice._validation import describe_validation
from splice.errors import InvalidInput


def config_value(model: type[BaseModel] | None, data: Mapping[str, Any]) -> Any:
    """``ctx.config`` for ``data`` (the JSON the parent sent): a ``model`` instance, or a read-only dict."""
    if model is None:
        return MappingProxyType(dict(data))
    try:
        return config_class(model).model_validate_json(orjson.dumps(_by_alias(model, data)))
    except ValidationError as exc:  # the parent validated it: only a model that changes its own output
        raise InvalidInput(
            f"config does not validate as {model.__name__} again: {describe_validation(exc)}",
            code="INVALID_CONFIG",
            hint="make the config model's serializers produce what its validators accept",
        ) from None


def _by_alias(model: type[BaseModel], data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` (keyed by field name, as dumped) keyed as the model validates it: by alias where one is set."""
    keys = {}
    for name, info in model.model_fields.items():
        alias = info.validation_alias if isinstance(info.validation_alias, str) else info.alias
        keys[name] = alias or name
    return {keys.get(name, name): value for name, value in data.items()}


@functools.cache
def config_class(model: type[BaseModel]) -> type[BaseModel]:
    """``model`` plus reading by name; ``model`` itself when it cannot be subclassed."""
    methods = {name: fn for name, fn in _BY_NAME.items() if name not in model.model_fields}
    try:
        return type(model.__name__, (model,), {"__module__": model.__module__, **methods})
    except Exception:  # an unusual model (generic, final): attribute access only
        return model


def _getitem(self: BaseModel, name: str) -> Any:
    if name not in type(self).model_fields:
        raise KeyError(name)
    return self.model_dump(mode="json", include={name})[name]


def _get(self: BaseModel, name: str, default: Any = None) -> Any:
    return _getitem(self, name) if name in type(self).model_fields else default


def _keys(self: BaseModel) -> KeysView[str]:
    return self.model_dump(mode="json").keys()


def _contains(self: BaseModel, name: object) -> bool:
    return name in type(self).model_fields


_BY_NAME = {"__getitem__": _getitem, "get": _get, "keys": _keys, "__contains__": _contains}
