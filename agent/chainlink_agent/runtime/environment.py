"""Typed settings read from environment variables: pydantic models whose validation aliases are the
variables' names. What the agent used of pydantic-settings is the few lines below; the library, with
python-dotenv, loaded 65 modules into the sidecar, asyncio among them (issue 24)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence, Set
from types import UnionType
from typing import Any, Self, Union, get_args, get_origin

from pydantic import AliasChoices, BaseModel, ConfigDict, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import InitErrorDetails


class FromEnvironment(BaseModel):
    """A model filled from the environment by from_environment(); each field's variable is its validation
    alias, or the first set of its AliasChoices."""

    # populate_by_name: tests build them with field names. validate_default: defaults pass the same
    # validators as values, as they did under pydantic-settings.
    model_config = ConfigDict(populate_by_name=True, validate_default=True)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> Self:
        """Raises ValidationError, each error's location the variable it is about."""
        return cls.model_validate(values(cls, environ))


def values(model: type[BaseModel], environ: Mapping[str, str]) -> dict[str, Any]:
    """The model's input, keyed by variable: only the variables that are set (defaults apply to the
    others), and those of collection or model fields decoded from JSON, as pydantic-settings did."""
    found: dict[str, Any] = {}
    errors: list[InitErrorDetails] = []
    for field in model.model_fields.values():
        name = next((name for name in variables(field) if name in environ), None)
        if name is None:
            continue
        if not is_json(field.annotation):
            found[name] = environ[name]
            continue
        try:
            found[name] = json.loads(environ[name])
        except ValueError as exc:
            errors.append(
                InitErrorDetails(
                    type="json_invalid", loc=(name,), input=environ[name], ctx={"error": str(exc)}
                )
            )
    if errors:
        raise ValidationError.from_exception_data(model.__name__, errors)
    return found


def variables(field: FieldInfo) -> list[str]:
    """The variables a field is read from, in order of preference (none without a validation alias)."""
    alias = field.validation_alias
    choices = alias.choices if isinstance(alias, AliasChoices) else [alias]
    return [name for name in choices if isinstance(name, str)]


def is_json(annotation: Any) -> bool:
    """Whether a field of this type is given as JSON: a model, mapping or collection other than a string
    (pydantic-settings' "complex" fields), alone or in a union."""
    if get_origin(annotation) in (Union, UnionType):
        return any(is_json(arm) for arm in get_args(annotation))
    kind = get_origin(annotation) or annotation
    return (
        isinstance(kind, type)
        and not issubclass(kind, (str, bytes))
        and issubclass(kind, (BaseModel, Mapping, Sequence, Set))
    )
