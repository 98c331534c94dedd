"""Building a GraphQL object from a domain row: copy the fields both have by name.

Types list only what the API shows; `copied` fills each plain field from the
attribute of the same name and takes the rest from `overrides`, so a new
column shows up by adding one annotated line to the type. An enum is never
copied as it is: the domain's enums (StrEnums) are not the API's, and each
`of` maps its enum fields with `scalars.to_api`; one left out is a TypeError
here, not a value the schema happens to serialize.
"""

from enum import StrEnum
from functools import cache
from typing import Any, TypeVar

T = TypeVar("T")


@cache
def _plain_fields(definition: Any) -> tuple[str, ...]:
    """The fields `copied` fills, read from the type once (issue 19: a page makes ~200 objects)."""
    return tuple(field.python_name for field in definition.fields if field.base_resolver is None)


def copied(cls: type[T], source: object, **overrides: Any) -> T:
    """A `cls` from `source`'s attributes of the same names, `overrides` taking precedence.

    A loaded attribute is read from the instance's own dict (an ORM row keeps
    its loaded values there; its descriptor costs more than the read), any other
    through `getattr`, which loads what is not loaded yet.
    """
    names = _plain_fields(cls.__strawberry_definition__)  # type: ignore[attr-defined]
    loaded: dict[str, Any] = getattr(source, "__dict__", {})
    values: dict[str, Any] = {}
    for name in names:
        if name in overrides:
            value = overrides.pop(name)
        else:
            value = loaded[name] if name in loaded else getattr(source, name)
        if isinstance(value, StrEnum):
            raise TypeError(f"{cls.__name__}.{name} is a domain enum: map it with to_api")
        values[name] = value
    return cls(**values, **overrides)
