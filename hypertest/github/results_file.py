"""Read a results.json that may come from anywhere (another job's artifact, a fork's pull request): every
problem ends in a one-screen error naming the file and the JSON path (exit 2)."""

from __future__ import annotations

import json
import math
import re
import stat
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path
from typing import Any, cast

import jsonschema
from referencing import Registry, Resource

from hypertest.errors import UsageError
from runner.model import RunResult

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schema"  # packaged as hypertest/schema/*.json
MAX_RESULTS_BYTES = 256 * 1024 * 1024
MAX_DEPTH = 64  # a results.json nests about 8 levels; JSON's own limit is Python's recursion limit
MAX_NUMBER = 2 ** 53  # beyond it numbers lose precision between JSON readers (I-JSON, RFC 7493)
MAX_LISTED = 20  # schema problems shown, so that the error fits one screen
MAX_COUNTED = 10_000  # schema problems counted before giving up
HINT = "pass the results.json that `hypertest invoke` wrote (<output>/<runId>/results.json)"
_SURROGATE = re.compile("[\ud800-\udfff]")



class _Refused(ValueError):
    """A value json.loads would accept but a results.json may not hold."""


def load_result(path: Path) -> RunResult:
    """The results.json document at path, parsed once: checked against schema/run-result.schema.json, which
    has RunResult's keys and types (tests/test_result_model.py keeps the two in agreement)."""
    name = shown(str(path))
    document = _parse(name, _read_text(path, name))
    _check_values(name, document)
    _validate(name, document)
    return cast(RunResult, document)  # the schema validated it


def shown(text: str, limit: int = 200) -> str:
    """text cut to limit characters, every character that is not printable (line breaks, escape
    sequences, bidi controls, separators) shown as an escape: one line that cannot drive a terminal."""
    cut = text if len(text) <= limit else text[:limit] + "…"
    return "".join(char if char.isprintable() else _escape(char) for char in cut)


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else (f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")


def _read_text(path: Path, name: str) -> str:
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise UsageError(f"{name}: is a folder, not a results.json file", hint=HINT)
        if info.st_size > MAX_RESULTS_BYTES:  # a pipe or device (/dev/stdin) has no size: the read is bounded
            raise UsageError(f"{name}: {info.st_size} bytes; a results.json may have at most "
                             f"{MAX_RESULTS_BYTES} bytes")
        with path.open("rb") as handle:
            data = handle.read(MAX_RESULTS_BYTES + 1)
    except FileNotFoundError:
        raise UsageError(f"{name}: no such file", hint=HINT) from None
    except OSError as exc:
        raise UsageError(f"{name}: cannot read it ({shown(exc.strerror or str(exc))})") from None
    if len(data) > MAX_RESULTS_BYTES:  # it grew after the check, or is a stream
        raise UsageError(f"{name}: more than {MAX_RESULTS_BYTES} bytes; a results.json may have at most "
                         f"{MAX_RESULTS_BYTES} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{name}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})") from None


def _parse(name: str, text: str) -> Any:
    try:
        return json.loads(text, parse_constant=_constant, parse_float=_float, object_pairs_hook=_object)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{name}:{exc.lineno}:{exc.colno}: not JSON: {exc.msg}", hint=HINT) from None
    except RecursionError:
        raise UsageError(f"{name}: not a results.json: values nested too deeply to read") from None
    except _Refused as exc:
        raise UsageError(f"{name}: not a results.json: {exc}") from None
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        raise UsageError(f"{name}: not a results.json: {shown(str(exc).split(';')[0], 120)}") from None


def _constant(text: str) -> Any:
    raise _Refused(f"{text} is not a JSON number")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused(f"the number {shown(text, 40)} is too large")
    return value


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for key, value in pairs:
        if key in document:
            raise _Refused(f"the key {shown(json.dumps(key, ensure_ascii=False), 80)} appears twice in one object")
        document[key] = value
    return document


def _check_values(name: str, document: Any) -> None:
    """Refuse what the schema cannot: deep nesting, unencodable strings, numbers beyond ±2^53."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(document, ())]
    while stack:
        value, at = stack.pop()
        if len(at) > MAX_DEPTH:
            raise UsageError(f"{name}: {dotted(at[:8])}…: nested more than {MAX_DEPTH} levels deep")
        if isinstance(value, dict):
            for key in value:
                if _SURROGATE.search(key):
                    raise UsageError(f"{name}: {dotted(at)}: a key holds a lone UTF-16 surrogate (not text)")
            stack.extend(reversed([(item, (*at, key)) for key, item in value.items()]))
        elif isinstance(value, list):
            stack.extend(reversed([(item, (*at, index)) for index, item in enumerate(value)]))
        elif isinstance(value, str) and _SURROGATE.search(value):
            raise UsageError(f"{name}: {dotted(at)}: the string holds a lone UTF-16 surrogate (not text)")
        elif isinstance(value, int | float) and not isinstance(value, bool) and abs(value) > MAX_NUMBER:
            raise UsageError(f"{name}: {dotted(at)}: the number {shown(str(value), 40)} is beyond ±2^53")


@cache
def _validator() -> jsonschema.Draft202012Validator:
    schemas = [json.loads((SCHEMA_DIR / file).read_text(encoding="utf-8"))
               for file in ("result.schema.json", "run-result.schema.json")]
    registry: Registry[Any] = Registry().with_resources(
        [(schema["$id"], Resource.from_contents(schema)) for schema in schemas])
    return jsonschema.Draft202012Validator(schemas[-1], registry=registry)


def _validate(name: str, document: Any) -> None:
    problems: list[jsonschema.ValidationError] = []
    count = 0
    for error in _validator().iter_errors(document):
        count += 1
        if len(problems) < MAX_LISTED:
            problems.append(error)
        if count >= MAX_COUNTED:
            break
    if not problems:
        return
    problems.sort(key=lambda error: _sort_key(error.absolute_path))
    lines = [f"{name}: {describe(error)}" for error in problems]
    if count > len(problems):
        lines.append(f"… and {'at least ' if count >= MAX_COUNTED else ''}{count - len(problems)} more")
    raise UsageError(f"{name}: not a hypertest results.json ({count}{'+' if count >= MAX_COUNTED else ''} "
                     f"problem{'s' if count != 1 else ''}):\n  " + "\n  ".join(lines), hint=HINT)


def describe(error: jsonschema.ValidationError) -> str:
    """One schema problem as `json.path: what is wrong`, every echoed key and value escaped."""
    if error.context:  # oneOf/anyOf: say what the alternatives expected
        return _alternatives(error)
    at: tuple[str | int, ...] = tuple(error.absolute_path)
    expected: Any = error.validator_value
    if error.validator == "required":
        missing = [key for key in expected if f"{key!r} is a required property" == error.message]
        return f"{dotted((*at, *missing[:1]))}: {shown(error.message)}"
    explain = _EXPLAIN.get(str(error.validator))
    return f"{dotted(at)}: {explain(error, expected) if explain else shown(error.message)}"


def _alternatives(error: jsonschema.ValidationError) -> str:
    deepest = max(error.context, key=lambda each: len(each.relative_path))
    if deepest.relative_path or not all(each.validator == "type" for each in error.context):
        return describe(deepest)  # the alternative the value came closest to
    types = " or ".join(str(each.validator_value) for each in error.context)
    return f"{dotted(error.absolute_path)}: expected {types}, got {value_text(error.instance)}"


def _unknown_keys(error: jsonschema.ValidationError, expected: Any) -> str:
    schema = error.schema if isinstance(error.schema, dict) else {}
    allowed = schema.get("properties", {})
    unknown = [key for key in error.instance if key not in allowed] if isinstance(error.instance, dict) else []
    keys = ", ".join(value_text(key) for key in unknown[:3]) + (f" and {len(unknown) - 3} more"
                                                                  if len(unknown) > 3 else "")
    return f"unknown key{'s' if len(unknown) != 1 else ''} {keys}; expected one of: {', '.join(sorted(allowed))}"


def _wrong_type(error: jsonschema.ValidationError, expected: Any) -> str:
    types = " or ".join(expected) if isinstance(expected, list) else str(expected)
    return f"expected {types}, got {value_text(error.instance)}"


def _not_an_option(error: jsonschema.ValidationError, expected: Any) -> str:
    return f"{value_text(error.instance)} is not one of {', '.join(json.dumps(value) for value in expected)}"


def _not_the_constant(error: jsonschema.ValidationError, expected: Any) -> str:
    return f"must be {json.dumps(expected)}, not {value_text(error.instance)}"


def _too_small(error: jsonschema.ValidationError, expected: Any) -> str:
    plural = "" if expected == 1 else "s"
    limit = {"minItems": f"at least {expected} item{plural} expected",
             "minLength": f"at least {expected} character{plural} expected"}.get(str(error.validator),
                                                                               f"the minimum is {expected}")
    return f"{value_text(error.instance)}; {limit}"


_EXPLAIN: dict[str, Callable[[jsonschema.ValidationError, Any], str]] = {
    "additionalProperties": _unknown_keys, "type": _wrong_type, "enum": _not_an_option, "const": _not_the_constant,
    "minimum": _too_small, "minItems": _too_small, "minLength": _too_small,
}


def value_text(value: Any) -> str:
    """A short, escaped rendering of a JSON value for an error message."""
    if isinstance(value, dict):
        return f"an object of {len(value)} key{'s' if len(value) != 1 else ''}"
    if isinstance(value, list):
        return f"a list of {len(value)} item{'s' if len(value) != 1 else ''}"
    if isinstance(value, str):
        return shown(json.dumps(value[:60] + ("…" if len(value) > 60 else ""), ensure_ascii=False))
    return shown(json.dumps(value), 40)


def dotted(at: Iterable[str | int | None]) -> str:
    """A JSON path as `tests[3].titlePath`, keys escaped and cut short."""
    text = ""
    for part in at:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + shown(str(part), 60)
    return text or "(top level)"


def _sort_key(at: Iterable[str | int]) -> tuple[tuple[int, int, str], ...]:
    return tuple((1, 0, part) if isinstance(part, str) else (0, part, "") for part in at)
