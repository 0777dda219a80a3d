"""Shapes: a raw JSON answer against the protobuf message Google's client parses it into."""

from __future__ import annotations

import functools
import json
import re
from typing import Any, Optional

from google.cloud.compute_v1.types import compute
from google.protobuf.descriptor import FieldDescriptor

from checks.report import need

RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
ADDITIONAL_VALUES = re.compile(r"Additional supported values which may be not listed in the enum\s+directly due to technical reasons:(.*?)(?:Values:|$)", re.S)


@functools.lru_cache(maxsize=None)
def _enum_values(message_name: str, enum_name: str) -> Optional[frozenset[str]]:
    """The values of the enum `enum_name` nested in the Compute message `message_name`, or None if it has none.

    Protobuf scopes enum values to the package, so the generated enum keeps only the values no other enum took; the
    rest the enum's documentation lists as "additional supported values" (Type keeps OPPORTUNISTIC in its members
    and lists PROACTIVE there).
    """
    message_class = getattr(compute, message_name, None)
    enum_class = getattr(message_class, enum_name, None) if message_class is not None else None
    if enum_class is None or not hasattr(enum_class, "__members__"):
        return None
    values = {name for name in enum_class.__members__ if not name.startswith("UNDEFINED_")}
    match = ADDITIONAL_VALUES.search(enum_class.__doc__ or "")
    if match:
        values |= set(re.findall(r"^\s*([A-Z][A-Z0-9_]*)\s*$", match.group(1), re.M))
    return frozenset(values)


def _string_enum_values(message_descriptor, proto_field) -> Optional[frozenset[str]]:
    """The values of a string field that Compute documents as an enum, named after the field (`minimal_action` ->
    `MinimalAction`), or None for a free-form string."""
    enum_name = "".join(part.capitalize() for part in proto_field.name.rstrip("_").split("_"))
    if enum_name not in message_descriptor.enum_types_by_name:
        return None
    return _enum_values(message_descriptor.name, enum_name)


def shape_problems(value: Any, descriptor, path: str) -> list[str]:
    """Every way in which `value` is not a JSON encoding Compute would send of the message `descriptor`."""
    if not isinstance(value, dict):
        return [f"{path}: expected an object, got {type(value).__name__}"]
    fields = {f.json_name: f for f in descriptor.fields}
    problems = []
    for key, item in value.items():
        proto_field = fields.get(key)
        if proto_field is None:
            problems.append(f"{path}.{key}: no such field in {descriptor.name}")
            continue
        if proto_field.is_repeated and not _is_map(proto_field):
            if not isinstance(item, list):
                problems.append(f"{path}.{key}: expected a list, got {type(item).__name__}")
                continue
            for index, element in enumerate(item):
                problems += _value_problems(element, descriptor, proto_field, f"{path}.{key}[{index}]")
        else:
            problems += _value_problems(item, descriptor, proto_field, f"{path}.{key}")
    return problems


def _is_map(proto_field) -> bool:
    return proto_field.type == FieldDescriptor.TYPE_MESSAGE and proto_field.message_type.GetOptions().map_entry


def _value_problems(value: Any, parent, proto_field, path: str) -> list[str]:
    kind = proto_field.type
    if _is_map(proto_field):
        if not isinstance(value, dict):
            return [f"{path}: expected a map object"]
        value_field = proto_field.message_type.fields_by_name["value"]
        problems = []
        for key, item in value.items():
            problems += _value_problems(item, proto_field.message_type, value_field, f"{path}[{key!r}]")
        return problems
    if kind == FieldDescriptor.TYPE_MESSAGE:
        return shape_problems(value, proto_field.message_type, path)
    if kind == FieldDescriptor.TYPE_STRING:
        if not isinstance(value, str):
            return [f"{path}: expected a string, got {json.dumps(value)}"]
        allowed = _string_enum_values(parent, proto_field)
        if allowed is not None and value not in allowed:
            return [f"{path}: {value!r} is not a value of enum {parent.name}.{proto_field.name} ({sorted(allowed)})"]
        return []
    if kind == FieldDescriptor.TYPE_ENUM:
        allowed = _enum_values(parent.name, proto_field.enum_type.name) or frozenset()
        if value not in allowed:
            return [f"{path}: {value!r} is not a value of enum {proto_field.enum_type.name} ({sorted(allowed)})"]
        return []
    if kind in (FieldDescriptor.TYPE_INT64, FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_FIXED64):
        # Compute's JSON carries 64-bit integers as decimal strings ("id": "8837216412").
        if not (isinstance(value, str) and re.fullmatch(r"-?\d+", value)):
            return [f"{path}: a 64-bit integer is sent as a decimal string, got {json.dumps(value)}"]
        return []
    if kind in (FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_UINT32, FieldDescriptor.TYPE_SINT32):
        if isinstance(value, bool) or not isinstance(value, int):
            return [f"{path}: expected a 32-bit integer, got {json.dumps(value)}"]
        return []
    if kind == FieldDescriptor.TYPE_BOOL:
        return [] if isinstance(value, bool) else [f"{path}: expected a boolean, got {json.dumps(value)}"]
    if kind in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return [] if ok else [f"{path}: expected a number, got {json.dumps(value)}"]
    return [f"{path}: unexpected protobuf field type {kind}"]


def need_shape(raw: Any, message_class, what: str) -> None:
    problems = shape_problems(raw, message_class.pb().DESCRIPTOR, what)
    need(not problems, "; ".join(problems[:8]) + (f" (and {len(problems) - 8} more)" if len(problems) > 8 else ""))


def need_timestamp(value: Any, what: str) -> None:
    need(isinstance(value, str) and RFC3339.match(value) is not None, f"{what} is not an RFC 3339 timestamp: {value!r}")
