"""The invocation payload: which tests of which project one unit must run, and where to put results."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

TestKey = tuple[str, str, tuple[str, ...], int]
RUN_LEVEL_PARTS = ("webServer", "globalHooks")


class PayloadError(ValueError):
    """A payload that does not have the shape the runner needs."""


@dataclass(frozen=True)
class TestRef:
    """One requested test: its stable id and how Playwright names it."""

    id: str
    project: str
    file: str
    title_path: tuple[str, ...]
    repeat_each_index: int = 0

    @property
    def key(self) -> TestKey:
        """What identifies the test in Playwright's own reports."""
        return (self.project, self.file, self.title_path, self.repeat_each_index)


@dataclass(frozen=True)
class Selector:
    """One line of Playwright's --test-list: a project, a file and a title-path prefix."""

    project: str
    file: str
    title_path: tuple[str, ...]

    def line(self) -> str:
        """The selector as a --test-list line."""
        return " › ".join([f"[{self.project}]", self.file, *self.title_path])


@dataclass(frozen=True)
class StateRequest:
    """Files carried between units in the cloud: restore earlier units' files, capture this one's."""

    restore: tuple[str, ...] = ()
    capture: bool = False
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True)
class Payload:
    """Everything one invocation needs."""

    run_id: str
    unit_id: str
    tests: tuple[TestRef, ...]
    selectors: tuple[Selector, ...]
    project_dir: str
    config_file: str
    retries: int | None
    timeout_ms: int | None
    artifacts: Mapping[str, Any]
    no_deps: bool = False
    omit: frozenset[str] = frozenset()
    env: Mapping[str, str] = field(default_factory=dict)
    use_override: Mapping[str, Any] | None = None
    web_server_override: Any = None  # None: the config's; False: none; else the entries (JSON)
    state: StateRequest = field(default_factory=StateRequest)
    sandbox_server: tuple[Mapping[str, Any], ...] | None = None  # hold the web server in the sandbox: its checks
    max_failures: int | None = None  # the run's failures left when the unit started (None: the config's)


def _optional_int(event: Mapping[str, Any], key: str, minimum: int) -> int | None:
    """unit[key]: an integer of at least `minimum`, or None when absent or null."""
    value = event.get(key)
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < minimum):
        kind = "a non-negative integer" if minimum == 0 else "a positive integer"
        raise PayloadError(f"unit.{key}: expected {kind} or null")
    return value


def parse_payload(envelope: Any) -> Payload:
    """Validate a decoded JSON envelope (runId, unitId, projectDir, artifacts, timeoutMs, and the Playwright
    plugin's `unit`) into a Payload, naming the first bad field."""
    if not isinstance(envelope, Mapping):
        raise PayloadError("the payload must be a JSON object")
    event = envelope.get("unit")
    if not isinstance(event, Mapping):
        raise PayloadError("unit: expected an object (the test runner's part of the payload)")
    tests = tuple(_test(item, f"unit.tests[{index}]") for index, item in enumerate(_list(event, "tests")))
    if not tests:
        raise PayloadError("unit.tests: at least one test is required")
    selectors = tuple(_selector(item, f"unit.selectors[{index}]")
                      for index, item in enumerate(_list(event, "selectors")))
    if not selectors:
        raise PayloadError("unit.selectors: at least one selector is required")
    retries = _optional_int(event, "retries", 0)
    max_failures = _optional_int(event, "maxFailures", 1)
    timeout_ms = envelope.get("timeoutMs")
    artifacts = envelope.get("artifacts", {})
    if timeout_ms is not None and (not isinstance(timeout_ms, int) or timeout_ms <= 0):
        raise PayloadError("timeoutMs: expected a positive integer or null")
    if not isinstance(artifacts, Mapping):
        raise PayloadError("artifacts: expected an object")
    omit = event.get("omit", [])
    if not isinstance(omit, list) or not all(part in RUN_LEVEL_PARTS for part in omit):
        raise PayloadError(f"unit.omit: expected a list of {', '.join(RUN_LEVEL_PARTS)}")
    env = event.get("env", {})
    if not isinstance(env, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in env.items()):
        raise PayloadError("unit.env: expected an object of strings")
    use_override = event.get("use")
    if use_override is not None and not isinstance(use_override, Mapping):
        raise PayloadError("unit.use: expected an object or null")
    web_server = event.get("webServer")
    if web_server is not None and not isinstance(web_server, (Mapping, list, bool)):
        raise PayloadError("unit.webServer: expected an object, a list, false or null")
    sandbox = event.get("sandboxServer")
    if sandbox is not None and (not isinstance(sandbox, Mapping) or not isinstance(sandbox.get("checks"), list)
                                or not all(isinstance(check, Mapping) for check in sandbox["checks"])):
        raise PayloadError("unit.sandboxServer: expected an object with a list of checks")
    return Payload(
        sandbox_server=tuple(sandbox["checks"]) if sandbox is not None else None,
        max_failures=max_failures,
        state=_state(event.get("state")),
        run_id=_str(envelope, "runId"),
        unit_id=_str(envelope, "unitId"),
        tests=tests,
        selectors=selectors,
        project_dir=_str(envelope, "projectDir"),
        config_file=_str(event, "configFile", "unit."),
        retries=retries,
        timeout_ms=timeout_ms,
        artifacts=artifacts,
        no_deps=event.get("noDeps") is True,
        omit=frozenset(omit),
        env=dict(env),
        use_override=use_override,
        web_server_override=web_server,
    )


def _str(event: Mapping[str, Any], key: str, where: str = "", *, empty: bool = False) -> str:
    value = event.get(key)
    if not isinstance(value, str) or (not value and not empty):
        kind = "string" if empty else "non-empty string"
        raise PayloadError(f"{where}{key}: expected a {kind}")
    return value


def _list(event: Mapping[str, Any], key: str) -> list[Any]:
    value = event.get(key)
    if not isinstance(value, list):
        raise PayloadError(f"unit.{key}: expected a list")
    return value


def _titles(item: Mapping[str, Any], where: str) -> tuple[str, ...]:
    titles = item.get("titlePath")
    if not isinstance(titles, list) or not all(isinstance(t, str) for t in titles):
        raise PayloadError(f"{where}.titlePath: expected a list of strings")
    return tuple(titles)


def _test(item: Any, where: str) -> TestRef:
    if not isinstance(item, Mapping):
        raise PayloadError(f"{where}: expected an object")
    titles = _titles(item, where)
    if not titles:
        raise PayloadError(f"{where}.titlePath: a test has at least its own title")
    repeat = item.get("repeatEachIndex", 0)
    if not isinstance(repeat, int) or isinstance(repeat, bool) or repeat < 0:
        raise PayloadError(f"{where}.repeatEachIndex: expected a non-negative integer")
    return TestRef(
        id=_str(item, "id", f"{where}."),
        project=_str(item, "project", f"{where}.", empty=True),
        file=_str(item, "file", f"{where}."),
        title_path=titles,
        repeat_each_index=repeat,
    )


def _selector(item: Any, where: str) -> Selector:
    if not isinstance(item, Mapping):
        raise PayloadError(f"{where}: expected an object")
    return Selector(project=_str(item, "project", f"{where}.", empty=True), file=_str(item, "file", f"{where}."),
                    title_path=_titles(item, where))


def _state(value: Any) -> StateRequest:
    if value is None:
        return StateRequest()
    if not isinstance(value, Mapping):
        raise PayloadError("unit.state: expected an object")
    lists = {}
    for key in ("restore", "exclude"):
        items = value.get(key, [])
        if not isinstance(items, list) or not all(isinstance(item, str) and item for item in items):
            raise PayloadError(f"unit.state.{key}: expected a list of non-empty strings")
        lists[key] = tuple(items)
    return StateRequest(restore=lists["restore"], capture=value.get("capture") is True, exclude=lists["exclude"])
