"""Frozen, slotted dataclasses copied and built without `dataclasses.replace` and `__init__`.

The subjects of the lifecycles and the rows they are read from are frozen dataclasses with slots.
Their generated `__init__` sets each slot through `object.__setattr__`, and `dataclasses.replace`
walks the fields and builds keyword arguments before calling it: about 10 µs to copy an order of
19 fields, 4-6 µs to build one, paid per transition and per row read (a due storm takes
thousands a second). `evolve` and `constructor` run one function generated per class that sets
each slot through its descriptor, two to three times faster. They apply only where the standard
path would do nothing more: a frozen dataclass with slots, no `__post_init__`, every field an
init field; any other class takes the standard path.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

Copier = Callable[[Any, dict[str, Any]], Any]
_copiers: dict[type, tuple[Copier, frozenset[str]]] = {}


def evolve(subject: T, **changes: Any) -> T:
    """A copy of the frozen dataclass `subject` with `changes` (field names) applied."""
    cls: type[Any] = type(subject)
    known = _copiers.get(cls)
    if known is None:
        known = _copiers[cls] = (_copier(cls), frozenset(f.name for f in dataclasses.fields(cls)))
    copier, names = known
    if not changes.keys() <= names:
        raise TypeError(f"{cls.__name__} has no field {sorted(changes.keys() - names)}")
    result: T = copier(subject, changes)
    return result


def constructor(cls: type[T]) -> Callable[..., T]:
    """A function that builds a `cls` from a value for every field, in the fields' order, as
    `cls(*values)` does (all of them: the defaults are not filled in)."""
    if not _plain(cls):
        return cls
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    build: Callable[..., T] = _generated(cls, ", ".join(names), names)
    return build


def _copier(cls: type[Any]) -> Copier:
    if not _plain(cls):
        return lambda subject, changes: dataclasses.replace(subject, **changes)
    names = [f.name for f in dataclasses.fields(cls)]
    copier: Copier = _generated(cls, "o, c", [f"c[{n!r}] if {n!r} in c else o.{n}" for n in names])
    return copier


def _plain(cls: type[Any]) -> bool:
    """Nothing but the slots to set: frozen, slotted, no `__post_init__`, every field an init field."""
    params = getattr(cls, "__dataclass_params__", None)
    return (
        params is not None
        and params.frozen
        and "__slots__" in cls.__dict__
        and not hasattr(cls, "__post_init__")
        and all(f.init for f in dataclasses.fields(cls))
    )


def _generated(cls: type[Any], parameters: str, values: list[str]) -> Any:
    """A function of `parameters` that makes a new `cls` and sets its i-th field (in the fields'
    order) to the expression `values[i]`, through the slot's descriptor."""
    fields = dataclasses.fields(cls)
    scope: dict[str, Any] = {"new": object.__new__, "cls": cls}
    body = [f"def generated({parameters}):", "    n = new(cls)"]
    for i, (f, value) in enumerate(zip(fields, values, strict=True)):
        scope[f"set{i}"] = cls.__dict__[f.name].__set__
        body.append(f"    set{i}(n, {value})")
    body.append("    return n")
    exec("\n".join(body), scope)  # the source holds only the class's own field names
    return scope["generated"]
