"""What core asks of a test-runner plugin, a provider and a reporter. Core owns these contracts; plugins
(hypertest/plugins/<name>/), providers (hypertest/providers/<name>) and reporters (hypertest/reporters/<name>)
implement them, and are found by the name the config gives (core/registry.py), so adding one touches no file
of core. Results cross these contracts as the types of runner/model.py, parsed once by core."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TextIO

from hypertest.core.config import Settings, TestRunnerSettings
from hypertest.core.limits import RunLimits
from hypertest.core.plan import RunPlan
from hypertest.core.suite import TestCase, Unit
from runner.model import RunnerFields, RunResult, TestRecord, UnitResult, UnitSummary


@dataclass(frozen=True)
class Check:
    """One line of `hypertest doctor`: what was checked, how it stands, and the fix."""

    name: str
    level: str  # ok | warn | error
    detail: str
    fix: str = ""


@dataclass(frozen=True)
class ImageInputs:
    """What a cloud image installs before the tests, in a layer of its own: the dependency manifests (file
    name and content, laid in the build's deps/ folder) and the installer the runner image has for them."""

    files: tuple[tuple[str, bytes], ...]
    installer: str  # the argument of the image's install-deps: npm | python


@dataclass(frozen=True)
class Discovery:
    """What a plugin found, in terms core reads: the tests with stable ids, and where the project is.

    A plugin subclasses it with the facts only it reads (core never looks at them)."""

    tests: tuple[TestCase, ...]
    root_dir: Path
    config_file: Path
    project_dir: Path

    @property
    def runner_version(self) -> str:
        """The test runner's version (results.json records it as runner.version)."""
        return ""

    def result_fields(self) -> RunnerFields:
        """Top-level keys this runner adds to results.json beside core's (each in schema/run-result.schema.json)."""
        return {}

    def projects_needing_chromium(self) -> tuple[str, ...]:
        """Projects whose tests launch Chromium without an executable of their own."""
        return ()

    def test_timeout_ms(self, project: str) -> int:
        """The per-test timeout of a project in milliseconds (0: none or unknown)."""
        return 0

    def limits(self) -> RunLimits:
        """What the test runner's config limits: units at once per group, failures before the run stops."""
        return RunLimits()


@dataclass(frozen=True)
class RunContext:
    """What a plugin's run-level hooks may use: the run's settings, folder, provider and environment."""

    settings: Settings
    run_dir: Path
    plan: RunPlan
    provider: Provider
    test_env: Mapping[str, str]  # the user's code gets this environment (no machinery secrets)
    out: TextIO


class RunHooks(Protocol):
    """A plugin's parts that run once per run around the units (web servers, global setup, state)."""

    def start(self) -> None:
        """Before the first unit."""

    def unit_extras(self, unit: Unit) -> dict[str, Any]:
        """What a unit's payload part carries about the run-level parts."""

    def phase_finished(self, units: Sequence[Unit], results: Sequence[UnitResult]) -> None:
        """A phase's units finished, with their unit results."""

    def stop(self) -> str | None:
        """After the last unit (also after a failure or Ctrl-C): the teardown's problem, if any."""


class NoRunHooks:
    """Run hooks of a plugin with nothing to do once per run."""

    def start(self) -> None:
        """Nothing to start."""

    def unit_extras(self, unit: Unit) -> dict[str, Any]:
        """Nothing to add."""
        return {}

    def phase_finished(self, units: Sequence[Unit], results: Sequence[UnitResult]) -> None:
        """Nothing to carry."""

    def stop(self) -> str | None:
        """Nothing to stop."""
        return None


@dataclass(frozen=True)
class WarmUpPart:
    """What a slot needs to start, before discovery, what the run's units will keep: the project folder and
    the plugin's part of a payload (its tests are placeholders a warm-up never runs)."""

    project_dir: Path
    unit: Mapping[str, Any]


class PreparedReport(Protocol):
    """What a plugin started for its merged report while the run's last units ran (a merge tool, loaded)."""

    def close(self) -> None:
        """End it unused (the run makes no report after all); harmless once merge_report used it."""


class TestRunnerPlugin(Protocol):
    """A test runner hypertest can split and run: Playwright Test, pytest-playwright, ..."""

    # Read-only: core never sets them (a plugin may make them class attributes or properties).
    @property
    def name(self) -> str:
        """testRunner.type, and the runner's `runner` field in payloads."""

    @property
    def config_label(self) -> str:
        """How messages name its config file ("Playwright config")."""

    @property
    def config_names(self) -> tuple[str, ...]:
        """The config files looked for beside hypertest.yml, in order."""

    def discover(self, settings: TestRunnerSettings, environ: Mapping[str, str]) -> Discovery:
        """Every test the settings select (UsageError naming the file when the suite does not load)."""

    def plan(self, discovery: Discovery, granularity: str) -> RunPlan:
        """The units, in phases."""

    def unit_part(self, unit: Unit, discovery: Discovery, settings: Settings) -> dict[str, Any]:
        """The plugin-owned part of a unit's payload: how the runner selects and runs its tests."""

    def warm_up_part(self, settings: Settings, environ: Mapping[str, str]) -> WarmUpPart | None:
        """The payload part that lets the slots start what units keep (a warm host) while the tests are
        discovered; None when this runner has nothing to start before its first unit."""

    def run_hooks(self, discovery: Discovery, context: RunContext) -> RunHooks:
        """The run-level parts of this run."""

    def prepare_report(self, discovery: Discovery, context: RunContext) -> PreparedReport | None:
        """Start what merge_report will need while the run's last units run, so the report is ready sooner after
        the last one (None: nothing to start); core calls it once every unit has started and a slot is free."""

    def merge_report(self, discovery: Discovery, context: RunContext, units: Sequence[UnitSummary],
                     records: Sequence[TestRecord], started_at: dt.datetime, *,
                     prepared: PreparedReport | None = None) -> Path | None:
        """One HTML report of the run from its units (their blobs) and records (None: this plugin makes none);
        core calls it at the end of a run whose `reporters` has `html`, with what prepare_report started."""

    def doctor_checks(self, settings: Settings, environ: Mapping[str, str]) -> list[Check]:
        """What `hypertest doctor` checks for this runner (tools, browsers)."""

    def image_inputs(self, project_dir: Path) -> ImageInputs:
        """The dependencies an image of the project installs (UsageError naming what is missing)."""

    def describe(self, discovery: Discovery, settings: Settings) -> list[str]:
        """Lines `hypertest list` prints before the units: what runs once per run."""

    def group_label(self, discovery: Discovery, group: str) -> str:
        """How `hypertest list` names a group (a project) in a phase: its name and role."""


class HistoryStore(Protocol):
    """Where runs keep their history (core/history.py reads and writes it through this): named immutable run
    entries in one folder per branch. Each run writes its own entry and never rewrites another's, so runs at
    the same time never lose each other's records. A method may raise OSError (or a provider's own error):
    core then warns and goes on without history."""

    @property
    def where(self) -> str:
        """Where the history lives, for messages (a folder, s3://bucket/prefix/history)."""

    def names(self, branch_key: str, limit: int) -> list[str]:
        """Names of the entries in a branch's folder (any order; at most limit of them; none when it is empty)."""

    def read(self, branch_key: str, name: str, max_bytes: int) -> bytes | None:
        """An entry's bytes; None when it is gone; ValueError saying its size when it has more than max_bytes
        (it is then not read)."""

    def write(self, branch_key: str, name: str, data: bytes) -> None:
        """Store a new entry (whole, or not at all)."""

    def remove(self, branch_key: str, names: Sequence[str]) -> None:
        """Delete entries (those already gone are no error)."""


class Provider(Protocol):
    """Runs units somewhere and brings their results, blobs and reports back."""

    name: str
    shares_host: bool  # units run on this machine, beside the run session (one web server serves them)

    def preflight(self, discovery: Discovery, peaks: Mapping[str, int]) -> None:
        """Check, before anything runs, that the units can run; raise a HypertestError if not. peaks: the highest
        peakMemoryMb and peakTmpMb the units of past runs on this provider used (from the history; may be empty),
        for warnings about its limits."""

    def history_store(self, settings: Settings) -> HistoryStore:
        """Where this provider keeps the runs' history (a folder by default; the aws provider, its bucket)."""

    def unit_payload(self, payload: Mapping[str, Any], run_dir: Path, discovery: Discovery) -> dict[str, Any]:
        """The payload adapted to where the runner runs (project location, artifact store, timeout)."""

    def warm_up(self, payload: Mapping[str, Any] | None, slots: int) -> None:
        """Get up to slots of the places units run ready, in the background, while the run still discovers
        tests or starts its session: started (payload None), or also holding what a unit of payload keeps
        between units (its warm host). A provider may do nothing; no unit's outcome may depend on it."""

    def execute(self, payload: Mapping[str, Any]) -> Mapping[str, object]:
        """Run one unit and return its result as the runner answered it (a JSON object, parsed by core:
        core/aggregate.py parse_unit_result); failures become an `error` result, not an exception."""

    def cancel(self) -> None:
        """Stop every unit still running (the run was interrupted); safe to call when none is."""

    def stop_running(self) -> bool:
        """Stop the units running now, each reporting what finished (the run reached maxFailures); units
        started later run as usual. Whether this provider can stop a running unit (else they finish)."""

    def collect_blobs(self, run_dir: Path, blob_keys: list[str]) -> Path:
        """A local folder holding the units' blob reports, for merging."""

    def artifact_url(self, key: str) -> str | None:
        """A link to an artifact stored under key, where the store has links (None: a local file)."""

    def report_links(self, run_dir: Path, reports: Mapping[str, str]) -> dict[str, str]:
        """Links to the reports that publish() will make available, by name (none for local files)."""

    def details(self) -> Mapping[str, Any]:
        """Facts about where the units run, recorded in results.json (for example memory, for costs)."""

    def put_run_file(self, run_dir: Path, key: str, data: bytes) -> str:
        """Store data under key in the run's artifact store (where units read it); returns its locator."""

    def publish(self, run_dir: Path) -> None:
        """Make the run folder's reports available where the artifacts are (no-op for local)."""

    def close(self) -> None:
        """Release what the units ran on (sandboxes, connections); called once after the last unit."""


@dataclass(frozen=True)
class Starter:
    """What `hypertest init` writes for a provider besides the common starter hypertest.yml."""

    concurrency: int = 4  # the starter's ${HT_CONCURRENCY:-n}
    folder: str = ""  # where documents go, beside hypertest.yml
    documents: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # file name -> JSON document
    next_steps: str = ""  # what init prints after writing the documents


class ProviderStarter(Protocol):
    """A provider entry with more to write at `hypertest init` than a starter hypertest.yml (optional: an
    entry without `starter` gets Starter())."""

    def starter(self, *, function: str, bucket: str) -> Starter:
        """The starter's parts for this provider (function and bucket: init's --function-name and --bucket)."""


class ProviderEntry(Protocol):
    """What a provider registers (hypertest/providers/<name> exposes it as PROVIDER)."""

    checks_tests: bool  # `validate` lists the tests for test_warnings (a cost worth paying for this provider)

    def default_concurrency(self) -> int:
        """How many units run at once when the configuration does not say."""

    def create(self, settings: Settings, environ: Mapping[str, str], out: TextIO) -> Provider:
        """The provider for this run."""

    def doctor_checks(self, settings: Settings, environ: Mapping[str, str]) -> list[Check]:
        """What `hypertest doctor` checks for this provider (credentials, function, bucket, quota)."""

    def test_warnings(self, settings: Settings, discovery: Discovery) -> list[str]:
        """What `validate` warns about the tests on this provider (a timeout longer than the function's)."""

    def deploy(self, settings: Settings, out: TextIO, environ: Mapping[str, str]) -> None:
        """Build and publish what the units run on (UsageError when this provider has nothing to deploy)."""


@dataclass(frozen=True)
class RunInfo:
    """What is known when a run starts."""

    run_id: str
    total_tests: int
    units: Sequence[Unit]
    concurrency: int
    provider: str
    output_dir: str


class Reporter:
    """Receives the run's events, in order, one at a time; a reporter overrides the events it needs.

    Reporters are found by the names in the `reporters` setting (core/registry.py); core/events.py's
    ReporterMultiplexer hands them the events."""

    def on_begin(self, info: RunInfo) -> None:
        """The run starts."""

    def on_unit_begin(self, unit: Unit) -> None:
        """A unit was handed to the provider."""

    def on_unit_end(self, unit: Unit, records: Sequence[TestRecord]) -> None:
        """A unit finished; records are its tests' final records."""

    def reports(self, result: RunResult, run_dir: Path) -> Mapping[str, str]:
        """Write this reporter's files into the run folder; their paths by report name (results.json lists them)."""
        return {}

    def on_end(self, result: RunResult) -> None:
        """The run finished; result is the whole results.json document."""
