"""Defaults come from one place, the JSON Schema: a validated document gets every default the schema
documents for the keys it leaves out, at every level."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any


def with_defaults(value: Any, schema: Mapping[str, Any]) -> Any:
    """A copy of value with the schema's `default` filled in for each absent property of each object."""
    if not isinstance(value, Mapping):
        return value
    properties: Mapping[str, Any] = schema.get("properties", {})
    filled = dict(value)
    for key, subschema in properties.items():
        if key not in filled and "default" in subschema:
            filled[key] = copy.deepcopy(subschema["default"])
        if key in filled:
            filled[key] = with_defaults(filled[key], subschema)
    return filled


def schema_at(schema: Mapping[str, Any], *keys: str) -> Mapping[str, Any]:
    """The subschema of the property path keys (e.g. 'provider', 'aws')."""
    found = schema
    for key in keys:
        found = found["properties"][key]
    return found
