"""Load YAML keeping where each value came from, so errors can name file:line:column."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from hypertest.errors import ConfigError

JsonPath = tuple[str | int, ...]


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
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the file ({exc.strerror})") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise ConfigError(f"{where}: malformed YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: malformed YAML: {exc}") from None
    positions: dict[JsonPath, Position] = {}
    key_positions: dict[JsonPath, Position] = {}
    data = {} if node is None else _convert(node, (), (positions, key_positions), path, scalar_hook)
    return SourceDocument(path=path, data=data, positions=positions, key_positions=key_positions)


def _convert(node: yaml.Node, at: JsonPath, maps: tuple[dict[JsonPath, Position], dict[JsonPath, Position]],
             path: Path, scalar_hook: ScalarHook) -> Any:
    positions, key_positions = maps
    positions[at] = Position(node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise ConfigError(f"{_where(path, key_node)}: keys must be plain strings")
            key = key_node.value
            if key in result:
                raise ConfigError(f"{_where(path, key_node)}: duplicate key {key!r}")
            key_positions[(*at, key)] = Position(key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            result[key] = _convert(value_node, (*at, key), maps, path, scalar_hook)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_convert(item, (*at, index), maps, path, scalar_hook)
                for index, item in enumerate(node.value)]
    if isinstance(node, yaml.ScalarNode):
        return scalar_hook(str(path), node, at)
    raise ConfigError(f"{_where(path, node)}: unsupported YAML node")


def _where(path: Path, node: yaml.Node) -> str:
    return f"{path}:{node.start_mark.line + 1}:{node.start_mark.column + 1}"


def plain_scalar_value(node: yaml.ScalarNode, text: str) -> Any:
    """The value YAML gives text as this node's kind of scalar (typed if plain, a string if quoted)."""
    if node.style is not None:  # quoted or block: always a string
        return text
    resolved = yaml.safe_load(text) if text.strip() else None
    if resolved is None or isinstance(resolved, (str, bool, int, float)):
        return resolved
    return text  # dates, mappings and the like stay as written
