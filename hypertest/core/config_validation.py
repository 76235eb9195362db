"""Checking hypertest.yml against its JSON Schema, each problem said as file:line:column, the key path and
what was expected."""

from __future__ import annotations

import json
from typing import Any

import jsonschema

from hypertest.core.yaml_source import JsonPath, SourceDocument
from hypertest.core.yaml_where import dotted
from hypertest.errors import ConfigError


def validate_document(document: SourceDocument, schema: dict[str, Any]) -> None:
    """A ConfigError listing (up to ten of) the ways the document breaks the schema, if it does."""
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(document.data), key=lambda e: (list(map(str, e.absolute_path))))
    if not errors:
        return
    lines = [_describe(document, error) for error in errors[:10]]
    more = f"\n  … and {len(errors) - 10} more" if len(errors) > 10 else ""
    raise ConfigError("invalid configuration:\n  " + "\n  ".join(lines) + more)


def _describe(document: SourceDocument, error: jsonschema.ValidationError) -> str:
    at: JsonPath = tuple(error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    if error.validator == "additionalProperties":
        allowed = sorted(schema.get("properties", {}))
        unknown = sorted(set(error.instance) - set(allowed)) if isinstance(error.instance, dict) else []
        return "\n  ".join(f"{document.where((*at, key), key=True)}: {dotted((*at, key))}: unknown key; "
                            f"expected one of: {', '.join(allowed)}" for key in unknown or ["?"])
    if error.validator == "enum":
        options = ", ".join(json.dumps(option) for option in schema.get("enum", []))
        return f"{document.where(at)}: {dotted(at)}: {json.dumps(error.instance)} is not one of {options}"
    if error.validator == "type":
        expected = error.validator_value
        expected_text = " or ".join(expected) if isinstance(expected, list) else expected
        return (f"{document.where(at)}: {dotted(at)}: expected {expected_text}, "
                f"got {type_name(error.instance)} {json.dumps(error.instance, default=str)}")
    return f"{document.where(at)}: {dotted(at)}: {error.message}"


def type_name(value: Any) -> str:
    """How messages name the type of a YAML value ("a mapping", "a string", ...)."""
    names = {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean",
             int: "an integer", float: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)
