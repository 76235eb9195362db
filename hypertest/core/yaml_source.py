"""Load YAML keeping where each value came from, so errors can name file:line:column.

A config may come from a hostile pull request: the work it can cause is bounded (file size, nesting
depth, values built, alias cycles), explicit tags are refused, and scalars are typed by YAML's plain
rules only (null, booleans, integers, finite floats), never constructed as objects.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from hypertest.core.config_file import read_text
from hypertest.core.yaml_where import dotted, key_path_before
from hypertest.errors import ConfigError

JsonPath = tuple[str | int, ...]  # as yaml_where's
MAX_BYTES = 1024 * 1024
MAX_DEPTH = 64
MAX_VALUES = 100_000  # values built, aliases counted each time they are used
STANDARD_TAG = "tag:yaml.org,2002:"
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_LINE_BREAK = re.compile(r"[\r\n\u0085\u2028\u2029]")
_RESOLVER = yaml.resolver.Resolver()
_CONSTRUCTOR = yaml.constructor.SafeConstructor()
_TYPED_TAGS = {f"{STANDARD_TAG}{name}" for name in ("null", "bool", "int", "float")}
_ALLOWED_TAGS = {*_TYPED_TAGS, *(f"{STANDARD_TAG}{name}" for name in ("str", "seq", "map", "timestamp", "merge"))}


class ScalarError(ValueError):
    """A scalar value hypertest does not accept (NaN, infinity, control characters)."""


@dataclass(frozen=True)
class Position:
    """A 1-based line and column in a source file."""

    line: int
    column: int


@dataclass(frozen=True)
class SourceDocument:
    """A parsed YAML document and the position of every value in it, by JSON path."""

    path: Path
    data: Any
    positions: dict[JsonPath, Position]
    key_positions: dict[JsonPath, Position]

    def where(self, json_path: JsonPath, *, key: bool = False) -> str:
        """`file:line:column` of the value (or, with key, the key) at json_path, or its nearest parent."""
        key_position = self.key_positions.get(tuple(json_path)) if key else None
        if key_position is not None:
            return f"{self.path}:{key_position.line}:{key_position.column}"
        for depth in range(len(json_path), -1, -1):
            position = self.positions.get(tuple(json_path[:depth]))
            if position is not None:
                return f"{self.path}:{position.line}:{position.column}"
        return str(self.path)


ScalarHook = Callable[[str, yaml.ScalarNode, JsonPath], Any]


def load_yaml(path: Path, scalar_hook: ScalarHook) -> SourceDocument:
    """Parse path as one YAML document; scalar_hook turns each string scalar into its value."""
    try:
        text = read_text(path, MAX_BYTES)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the file ({exc.strerror})") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        at = key_path_before(text, mark.index) if mark else ()
        raise ConfigError(f"{where}: {dotted(at)}: malformed YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: malformed YAML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: the YAML is nested too deeply (at most {MAX_DEPTH} levels)") from None
    converter = _Converter(path, scalar_hook)
    data = {} if node is None else converter.convert(node, (), ())
    return SourceDocument(path=path, data=data, positions=converter.positions,
                          key_positions=converter.key_positions)


class _Converter:
    """Turns composed nodes into plain values, within the bounds above."""

    def __init__(self, path: Path, scalar_hook: ScalarHook) -> None:
        self.path = path
        self.scalar_hook = scalar_hook
        self.positions: dict[JsonPath, Position] = {}
        self.key_positions: dict[JsonPath, Position] = {}
        self.values = 0

    def convert(self, node: yaml.Node, at: JsonPath, open_nodes: tuple[int, ...]) -> Any:
        self.values += 1
        if self.values > MAX_VALUES:
            raise ConfigError(f"{_where(self.path, node)}: {dotted(at)}: the YAML builds more than {MAX_VALUES} values "
                              "(aliases expand to copies); write the config out plainly")
        if len(at) > MAX_DEPTH:
            raise ConfigError(f"{_where(self.path, node)}: {dotted(at)}: the YAML is nested too deeply "
                              f"(at most {MAX_DEPTH} levels)")
        if id(node) in open_nodes:
            raise ConfigError(f"{_where(self.path, node)}: {dotted(at)}: an alias refers to a value that "
                              "contains it")
        if node.tag not in _ALLOWED_TAGS:
            raise ConfigError(f"{_where(self.path, node)}: {dotted(at)}: the YAML tag {node.tag!r} is not "
                              "allowed in a config")
        self.positions[at] = Position(node.start_mark.line + 1, node.start_mark.column + 1)
        inside = (*open_nodes, id(node))
        if isinstance(node, yaml.MappingNode):
            result: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode) or _CONTROL.search(key_node.value) \
                        or _LINE_BREAK.search(key_node.value):
                    raise ConfigError(f"{_where(self.path, key_node)}: a key of {dotted(at)}: keys must be plain "
                                      "strings")
                key = key_node.value
                if key in result:
                    raise ConfigError(f"{_where(self.path, key_node)}: {dotted((*at, key))}: duplicate key "
                                      f"{key!r}")
                self.key_positions[(*at, key)] = Position(key_node.start_mark.line + 1,
                                                          key_node.start_mark.column + 1)
                result[key] = self.convert(value_node, (*at, key), inside)
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self.convert(item, (*at, index), inside) for index, item in enumerate(node.value)]
        if isinstance(node, yaml.ScalarNode):
            return self.scalar_hook(str(self.path), node, at)
        raise ConfigError(f"{_where(self.path, node)}: {dotted(at)}: unsupported YAML node")


def _where(path: Path, node: yaml.Node) -> str:
    return f"{path}:{node.start_mark.line + 1}:{node.start_mark.column + 1}"


def plain_scalar_value(node: yaml.ScalarNode, text: str, *, typed: bool = True) -> Any:
    """The value of text as this node's kind of scalar: typed by YAML's plain rules if plain (and typed),
    else a string.

    Only null, booleans, integers and finite floats are typed; everything else stays the string it is
    (text is never parsed as YAML). Raises ScalarError for NaN, infinity, control characters, and line
    breaks outside block scalars (`|`, `>`).
    """
    if _CONTROL.search(text.replace("\t", " ")):
        raise ScalarError("control characters are not allowed in a config value")
    if node.style not in ("|", ">") and _LINE_BREAK.search(text):
        raise ScalarError("line breaks are allowed only in block scalars (| or >)")
    if node.style is not None or not typed:  # quoted or block: always a string
        return text
    tag = _RESOLVER.resolve(yaml.ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
    if tag not in _TYPED_TAGS:
        return text
    value = _CONSTRUCTOR.construct_object(yaml.ScalarNode(tag, text))
    if isinstance(value, float) and not math.isfinite(value):
        raise ScalarError(f"{text!r} is not a finite number")
    return value
