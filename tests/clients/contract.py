"""A small checker for the JSON types a client requires, in the client's own terms.

- ``Req(t)``: the client reads the field with no fallback (TypeScript interface field, Gson bean
  field the code dereferences, Dart ``json['x'] as T``): it must be present and of type ``t``.
- ``Opt(t)``: the client has a fallback (Dart ``json['x'] ?? default``, an optional TS field): missing
  or null is fine, but a present value must be of type ``t`` (Dart casts strictly at run time).
- ``STR``, ``INT`` (an integral JSON number: Dart ``int``), ``NUM`` (any JSON number), ``BOOL``;
  ``ListOf(t)``, ``MapOf(t)`` (an object with arbitrary keys), ``Obj({...})`` (extra keys are ignored,
  as every client here ignores them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class _Scalar:
    def __init__(self, name: str, check: Any) -> None:
        self.name = name
        self.check = check

    def __repr__(self) -> str:
        return self.name


STR = _Scalar("String", lambda v: isinstance(v, str))
INT = _Scalar("int", lambda v: isinstance(v, int) and not isinstance(v, bool))
NUM = _Scalar("num", lambda v: isinstance(v, int | float) and not isinstance(v, bool))
BOOL = _Scalar("bool", lambda v: isinstance(v, bool))
TRUE = _Scalar("true", lambda v: v is True)


@dataclass(frozen=True)
class Req:
    type: Any


@dataclass(frozen=True)
class Opt:
    type: Any


@dataclass(frozen=True)
class ListOf:
    item: Any


@dataclass(frozen=True)
class MapOf:
    value: Any


@dataclass(frozen=True)
class Obj:
    fields: dict[str, Req | Opt]


def violations(value: Any, schema: Any, path: str = "$") -> list[str]:
    """Every place where ``value`` breaks ``schema`` (empty when the client would accept it)."""
    if isinstance(schema, _Scalar):
        return [] if schema.check(value) else [f"{path}: {schema} expected, got {value!r:.60}"]
    if isinstance(schema, ListOf):
        if not isinstance(value, list):
            return [f"{path}: list expected, got {type(value).__name__}"]
        return [v for i, item in enumerate(value) for v in violations(item, schema.item, f"{path}[{i}]")]
    if isinstance(schema, MapOf):
        if not isinstance(value, dict):
            return [f"{path}: map expected, got {type(value).__name__}"]
        return [v for k, item in value.items() for v in violations(item, schema.value, f"{path}[{k!r}]")]
    if isinstance(schema, Obj):
        if not isinstance(value, dict):
            return [f"{path}: object expected, got {type(value).__name__}"]
        found: list[str] = []
        for name, rule in schema.fields.items():
            where = f"{path}.{name}"
            if name not in value or value[name] is None:
                if isinstance(rule, Req):
                    found.append(f"{where}: missing")
                continue
            found.extend(violations(value[name], rule.type, where))
        return found
    raise TypeError(f"unknown schema {schema!r}")


def assert_shape(value: Any, schema: Any, call: str) -> None:
    problems = violations(value, schema)
    assert not problems, f"{call}: " + "; ".join(problems[:8])
