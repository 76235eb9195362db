"""Naming where in a YAML document something went wrong: key paths, also for text the parser refused."""

from __future__ import annotations

from dataclasses import dataclass

import yaml

JsonPath = tuple[str | int, ...]


def dotted(at: JsonPath) -> str:
    """A key path as messages write it (testRunner.projects[0]); "(top level)" for the document itself."""
    text = ""
    for part in at:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


@dataclass
class _Frame:
    """A mapping (key: the last key read) or a sequence (items: how many were started); between: the last
    value is read (in a mapping, the next node is a key)."""

    mapping: bool
    key: str = ""
    items: int = 0
    between: bool = True

    def at(self) -> str | int | None:
        """The key or index of the value being read in this container; None between a mapping's values."""
        if self.mapping:
            return None if self.between else self.key
        return self.items if self.between else self.items - 1


def key_path_before(text: str, index: int) -> JsonPath:
    """The key path of the value YAML was read for at character index of text (where reading failed), from the
    parser's events before it; () when it failed at the document itself or between two keys of it."""
    frames: list[_Frame] = []
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if event.start_mark is not None and event.start_mark.index >= index:
                break
            _step(frames, event)
    except yaml.YAMLError:
        pass
    path: list[str | int] = []
    for frame in frames:
        part = frame.at()
        if part is None:
            break
        path.append(part)
    return tuple(path)


def _step(frames: list[_Frame], event: yaml.Event) -> None:
    """Follow one parser event."""
    if isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
        frames.pop()
        _value_done(frames)
        return
    if not isinstance(event, yaml.NodeEvent):
        return
    top = frames[-1] if frames else None
    if top is not None and top.mapping and top.between:  # a key
        top.key, top.between = (event.value if isinstance(event, yaml.ScalarEvent) else "?"), False
        if isinstance(event, yaml.ScalarEvent):
            return
    elif top is not None:
        top.items, top.between = top.items + 1, False
    if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
        frames.append(_Frame(mapping=isinstance(event, yaml.MappingStartEvent)))
    else:
        _value_done(frames)


def _value_done(frames: list[_Frame]) -> None:
    """A value of the innermost container is read (in a mapping, the next node is a key)."""
    if frames:
        frames[-1].between = True
