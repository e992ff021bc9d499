"""JSON request bodies hold only the keys their model declares: an unknown one is refused by name.

A misspelt optional key (``"time_out": 5``) would otherwise be dropped without a word and the
request run with the default. Every request model derives from :class:`JsonBody`; the error
names the unknown key and the accepted ones, and the document says ``additionalProperties:
false`` so a generated client knows too. Free-form bodies (a connection's metadata) are plain
``dict`` and take any key.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator
from pydantic_core import PydanticCustomError

#: the pydantic error type :mod:`splice.server._errors` reads the unknown key from
UNKNOWN_KEY = "unknown_key"


class JsonBody(BaseModel):
    """Base of every request model: no keys but the declared ones."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _only_known_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            names = [f.alias or name for name, f in cls.model_fields.items()]
            unknown = [key for key in data if key not in names]
            if unknown:
                accepted = ", ".join(names)
                noun = "unknown key" if len(unknown) == 1 else "unknown keys " + ", ".join(map(repr, unknown))
                raise PydanticCustomError(
                    UNKNOWN_KEY, f"{noun}; the accepted keys are {{accepted}}", {"keys": unknown, "accepted": accepted}
                )
        return data
