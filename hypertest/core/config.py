"""hypertest.yml: load, expand `${VAR}`, validate against the JSON Schema, build frozen settings."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from hypertest.core.config_expansion import expanding_hook
from hypertest.core.config_file import file_kind
from hypertest.core.config_validation import type_name, validate_document
from hypertest.core.schema_compose import runner_keys
from hypertest.core.schema_defaults import with_defaults
from hypertest.core.yaml_source import SourceDocument, load_yaml
from hypertest.core.yaml_where import dotted
from hypertest.errors import ECHO_MAX, ConfigError, quoted

DEFAULT_CONFIG_NAMES = ("hypertest.yml", "hypertest.yaml")
DEFAULT_FRESH_RETRIES = 2  # retryStrategy fresh without retries


@dataclass(frozen=True)
class TestRunnerSettings:
    """How tests are discovered and split into invocation units."""

    type: str
    config: Path
    projects: tuple[str, ...]
    granularity: str
    retries: int | None
    grep: str | None
    grep_invert: str | None
    tags: tuple[str, ...]
    # where grep and grepInvert were set (`file:line:column: testRunner.grep` or the flag), for error messages
    grep_origin: str = "testRunner.grep"
    grep_invert_origin: str = "testRunner.grepInvert"
    base_dir: Path | None = None  # hypertest.yml's folder (None: no hypertest.yml)
    # the test runner's own keys (its plugin's schema fragment: Playwright's use and webServer, pytest's python,
    # args and paths), validated by the schema, read by the plugin
    options: Mapping[str, Any] = field(default_factory=dict)
    document: SourceDocument | None = field(default=None, compare=False, repr=False)
    retry_strategy: str = "in-process"  # in-process | fresh (core/retries.py)
    parallel_retries: int = 1  # fresh: attempts of a failed test started at once

    @property
    def fresh_retries(self) -> int:
        """How many fresh attempts a failed test gets after its first (0: the test runner retries in-process)."""
        if self.retry_strategy != "fresh":
            return 0
        return DEFAULT_FRESH_RETRIES if self.retries is None else self.retries

    def filters_text(self) -> str:
        """The filters that select tests, for a message (` (with projects a; grep 'x')`); empty when none."""
        parts = [f"projects {', '.join(self.projects)}" if self.projects else "",
                 f"grep {self.grep!r}" if self.grep else "",
                 f"grepInvert {self.grep_invert!r}" if self.grep_invert else "",
                 f"tags {', '.join(self.tags)}" if self.tags else ""]
        return f" (with {'; '.join(part for part in parts if part)})" if any(parts) else ""

    def origin(self, *at: str | int) -> str:
        """Where a key of testRunner was set, for messages: `hypertest.yml:3:11: testRunner.paths[1]`."""
        place = f"{self.document.where(('testRunner', *at))}: " if self.document is not None else ""
        return place + dotted(("testRunner", *at))


@dataclass(frozen=True)
class ProviderSettings:
    """Where the tests run: the provider's name, and every provider's raw options (`provider.<name>`, defaults
    filled in) as they are until that provider reads them (core knows no provider's options)."""

    type: str
    options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def options_of(self, name: str) -> Mapping[str, Any]:
        """The raw `provider.<name>` options."""
        return self.options.get(name, {})

    @property
    def environment(self) -> Mapping[str, str]:
        """The variables the chosen provider's config gives the test processes."""
        return dict(self.options_of(self.type).get("environment", {}))


@dataclass(frozen=True)
class HistorySettings:
    """What runs remember of each other (`history`): whether, where (the folder stores'), how many runs of a
    branch are kept, and how many recent runs triage looks at."""

    enabled: bool = True
    path: Path | None = None  # None: <output>/.history
    runs: int = 30
    window: int = 10


@dataclass(frozen=True)
class QuarantineSettings:
    """Tests whose failures do not fail the run (`quarantine`): by id or title, by tag, or by their flaky rate."""

    tests: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    flaky_rate: float | None = None  # quarantine a test flaky in more than this share of the window's runs


@dataclass(frozen=True)
class Settings:
    """The whole validated configuration, with every default filled in and paths absolute."""

    source: Path | None
    base_dir: Path
    test_runner: TestRunnerSettings
    provider: ProviderSettings
    concurrency: int
    output: Path
    reporters: tuple[str, ...]
    fail_on_flaky: bool
    pass_with_no_tests: bool
    infra_retries: int = 1
    history: HistorySettings = field(default_factory=HistorySettings)
    base_branch: str | None = None  # baseBranch (GITHUB_BASE_REF comes first)
    base_override: str | None = None  # --base (comes before everything)
    quarantine: QuarantineSettings = field(default_factory=QuarantineSettings)

    @property
    def history_folder(self) -> Path:
        """The folder the local and docker providers keep the history in."""
        return self.history.path or self.output / ".history"


def load_schema() -> dict[str, Any]:
    """The configuration's JSON Schema (core's part with every plugin's and provider's fragment)."""
    from hypertest.core.schema_compose import composed_schema

    return composed_schema()


def resolve_path(path: Path, where: str) -> Path:
    """path made absolute with its links followed; a link loop is a ConfigError naming where it was set."""
    try:
        return path.resolve()
    except (OSError, RuntimeError) as exc:  # RuntimeError: Python 3.11's symlink loop
        raise ConfigError(f"{where}: {path} cannot be resolved ({getattr(exc, 'strerror', None) or exc})") from None


def find_config(explicit: str | None, cwd: Path) -> Path | None:
    """The config file to use: the explicit one (which must be a regular file), else hypertest.yml in cwd,
    else None. Only os.stat looks at what a name is: a FIFO or a device is never opened."""
    if explicit is not None:
        named = explicit if explicit.isprintable() and len(explicit) <= ECHO_MAX else quoted(explicit, ECHO_MAX)
        path = resolve_path(cwd / explicit, f"--config {named}")
        kind = file_kind(path)
        if kind == "missing":
            raise ConfigError(f"config file {named} not found (looked at {path})",
                              hint="pass --config PATH, or run `hypertest init` to write one")
        if kind != "file":
            raise ConfigError(f"--config {named}: {path} is {kind}, not a file",
                              hint="pass the path of a hypertest.yml")
        return path
    for name in DEFAULT_CONFIG_NAMES:
        candidate = cwd / name
        kind = file_kind(candidate)
        if kind == "file":
            return candidate.resolve()
        if kind != "missing" or candidate.is_symlink():  # a folder, a FIFO, a device, a dangling link or a loop
            what = kind if kind != "missing" else "a symbolic link to nothing"
            raise ConfigError(f"{candidate}: is {what}, not a file", hint="hypertest reads its config from this name")
    return None


@dataclass(frozen=True)
class ConfigDocument:
    """hypertest.yml read, expanded, validated and with every default filled in: what `build_settings` turns
    into Settings once the chosen test runner and provider are known (`runner_type`, `provider_type`)."""

    data: Mapping[str, Any]
    source: Path | None
    base_dir: Path
    document: SourceDocument | None = None

    @property
    def runner_type(self) -> str:
        """testRunner.type."""
        return str(self.data["testRunner"]["type"])

    @property
    def provider_type(self) -> str:
        """provider.type."""
        return str(self.data["provider"]["type"])


class RunnerConfigFiles(Protocol):
    """What building settings needs of the chosen test runner: how its own config file is found and named."""

    @property
    def config_label(self) -> str:
        """How messages name its config file ("Playwright config")."""

    @property
    def config_names(self) -> tuple[str, ...]:
        """The config files looked for beside hypertest.yml, in order."""


def read_config(path: Path | None, cwd: Path, environ: Mapping[str, str] | None = None) -> ConfigDocument:
    """Read and validate the config at path (the defaults when None), `${VAR}` expanded, defaults filled in."""
    env = os.environ if environ is None else environ
    if path is None:
        return ConfigDocument(with_defaults({}, load_schema()), None, cwd.resolve())
    document = load_yaml(path, expanding_hook(env))
    if not isinstance(document.data, dict):
        raise ConfigError(f"{document.where(())}: (top level): the document itself must hold a mapping of keys "
                          f"(key: value lines), not {type_name(document.data)}")
    validate_document(document, load_schema())
    return ConfigDocument(with_defaults(document.data, load_schema()), path, path.parent, document)


def build_settings(config: ConfigDocument, runner: RunnerConfigFiles, default_concurrency: int) -> Settings:
    """The frozen Settings of a read config, given its test runner's config files and its provider's default
    concurrency (what only the chosen plugin and provider know: core/load.py looks them up)."""
    data, source, base_dir, document = config.data, config.source, config.base_dir, config.document
    runner_data, provider = data["testRunner"], data["provider"]

    def origin(key: str) -> str:
        place = f"{document.where(('testRunner', key))}: " if document is not None else ""
        return f"{place}testRunner.{key}"

    own_keys = _own_keys(runner_data, origin)
    return Settings(
        source=source,
        base_dir=base_dir,
        test_runner=TestRunnerSettings(
            type=runner_data["type"],
            config=_runner_config(runner, runner_data.get("config"), base_dir, source),
            projects=tuple(runner_data.get("projects", ())),
            granularity=runner_data["granularity"],
            retries=runner_data["retries"],
            grep=runner_data.get("grep"),
            grep_invert=runner_data.get("grepInvert"),
            grep_origin=origin("grep"),
            grep_invert_origin=origin("grepInvert"),
            tags=tuple(runner_data.get("tags", ())),
            base_dir=base_dir,
            options={key: runner_data[key] for key in own_keys},
            document=document,
            retry_strategy=runner_data["retryStrategy"],
            parallel_retries=int(runner_data["parallelRetries"]),
        ),
        provider=ProviderSettings(
            type=provider["type"],
            options={name: dict(value) for name, value in provider.items() if isinstance(value, dict)},
        ),
        # the provider says (the schema cannot say "CPU count")
        concurrency=int(data.get("concurrency", default_concurrency)),
        output=resolve_path(base_dir / data["output"], f"{source}: output" if source else "output"),
        reporters=tuple(data["reporters"]),
        fail_on_flaky=bool(data["failOnFlaky"]),
        pass_with_no_tests=bool(data["passWithNoTests"]),
        infra_retries=int(data["infraRetries"]),
        history=_history(data["history"], base_dir, source),
        base_branch=data.get("baseBranch"),
        quarantine=QuarantineSettings(tests=tuple(data["quarantine"]["tests"]), tags=tuple(data["quarantine"]["tags"]),
                                      flaky_rate=data["quarantine"].get("flakyRate")),
    )


def _history(history: Mapping[str, Any], base_dir: Path, source: Path | None) -> HistorySettings:
    path = history.get("path")
    where = f"{source}: history.path" if source else "history.path"
    return HistorySettings(enabled=bool(history["enabled"]),
                           path=None if path is None else resolve_path(base_dir / path, where),
                           runs=int(history["runs"]), window=int(history["window"]))


def _own_keys(runner: Mapping[str, Any], origin: Callable[[str], str]) -> tuple[str, ...]:
    """The keys of testRunner that belong to its plugin's schema fragment (not core's); a ConfigError naming
    the place when one belongs only to another test runner (pytest's args in a Playwright suite)."""
    core_keys, owners = runner_keys()
    own = []
    for key in runner:
        if key in core_keys:
            continue
        if runner["type"] not in owners.get(key, ()):
            suites = " or ".join(owners.get(key, ("another",)))
            raise ConfigError(f"{origin(key)}: only a {suites} suite has it (testRunner.type is {runner['type']})")
        own.append(key)
    return tuple(own)


def _runner_config(plugin: RunnerConfigFiles, configured: str | None, base_dir: Path, source: Path | None) -> Path:
    where = f"{source}: testRunner.config" if source else "testRunner.config"
    if configured is not None:
        path = resolve_path(base_dir / configured, where)
        kind = file_kind(path)
        if kind == "missing":
            raise ConfigError(f"{where}: {plugin.config_label} {configured} not found (looked at {path})")
        if kind != "file":
            raise ConfigError(f"{where}: {path} is {kind}, not a file", hint=f"name your {plugin.config_label}")
        return path
    for name in plugin.config_names:
        if (base_dir / name).is_file():
            return (base_dir / name).resolve()
    raise ConfigError(f"no {plugin.config_label} found in {base_dir} "
                      f"(looked for {', '.join(plugin.config_names)})",
                      hint=f"set testRunner.config in hypertest.yml to your {plugin.config_label}'s path")
