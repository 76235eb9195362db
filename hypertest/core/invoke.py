"""The invoke pipeline: discover, split, dispatch, aggregate, report; the exit code tells the truth."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from hypertest import __version__
from hypertest.core.aggregate import conclusion, not_run_records, ordered_records, stats, unit_records
from hypertest.core.config import Settings
from hypertest.core.dispatcher import Dispatcher, UnitOutcome
from hypertest.core.durations import load_durations, longest_first, save_durations
from hypertest.core.events import Reporter, ReporterMultiplexer, RunInfo
from hypertest.core.models import Unit
from hypertest.core.pipeline import Pipeline, Task
from hypertest.core.plan import Gate, RunPlan, group_of
from hypertest.core.redaction import Redactor
from hypertest.core.run_id import new_run_id
from hypertest.core.strings import well_formed
from hypertest.errors import ExitCode, UsageError
from hypertest.plugins.playwright.discovery import Discovery, discover
from hypertest.plugins.playwright.phases import plan_run
from hypertest.plugins.playwright.run_level import with_overrides
from hypertest.plugins.playwright.session import clear_output_dirs, start_run_session
from hypertest.providers.base import Provider
from hypertest.reporters.console import ConsoleReporter
from hypertest.reporters.html_report import MergeError, merge_html_report
from hypertest.reporters.junit import write_junit
from runner.environment import child_environment
from runner.project_state import changed_files, pack, snapshot
from runner.session import PlaywrightSession, SessionSpec

RESULT_SCHEMA_VERSION = 1


@dataclass
class InvokeState:
    """What the pipeline's tasks hand to each other."""

    run_id: str
    discovery: Discovery | None = None
    plan: RunPlan | None = None
    units: list[Unit] = field(default_factory=list)
    run_dir: Path | None = None
    outcomes: list[UnitOutcome] = field(default_factory=list)
    records_by_unit: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    reports: dict[str, str] = field(default_factory=dict)
    result: dict[str, Any] | None = None
    exit_code: ExitCode = ExitCode.OK
    interrupted: bool = False
    teardown_error: str | None = None  # the run's global teardown failed (Playwright fails such a run)


def make_provider(settings: Settings, environ: Mapping[str, str], out: TextIO) -> Provider:
    """The provider the settings name."""
    if settings.provider.type == "aws":
        from hypertest.providers.aws.provider import AwsProvider
        from hypertest.providers.aws.settings import aws_settings

        return AwsProvider(aws_settings(settings.provider.aws, str(settings.source or "hypertest.yml")),
                           settings.concurrency, out=out, output=settings.output)
    from hypertest.providers.local import LocalProvider

    return LocalProvider(settings.provider.local, child_environment(environ, settings.provider.local.environment))


def invoke(settings: Settings, *, run_id: str | None = None, stream: TextIO | None = None,
           environ: Mapping[str, str] | None = None, provider: Provider | None = None,
           extra_reporters: Sequence[Reporter] = ()) -> InvokeState:
    """Run the whole suite once; the returned state holds results.json's document and the exit code."""
    env = dict(os.environ if environ is None else environ)
    out = stream or sys.stdout
    run = _InvokeRun(settings, InvokeState(run_id=run_id or new_run_id()), out=out, env=env,
                     provider=provider or make_provider(settings, env, out), extra_reporters=extra_reporters)
    Pipeline([Task("discover", run.discover_tests), Task("units", run.split_units),
              Task("prepare", run.prepare)]).run()
    if run.state.units:
        Pipeline([Task("session", run.start_session, teardown=run.stop_session),
                  Task("dispatch", run.dispatch, teardown=run.stop_dispatch),
                  Task("session end", run.stop_session), Task("report", run.report)]).run()
    return run.state


class _InvokeRun:
    """The tasks of one invoke, sharing one InvokeState."""

    def __init__(self, settings: Settings, state: InvokeState, *, out: TextIO, env: dict[str, str],
                 provider: Provider, extra_reporters: Sequence[Reporter]) -> None:
        self.settings = settings
        self.state = state
        self.out = out
        self.env = env
        # what the user's code (config, global setup, web server, tests) gets: no secrets of the machinery
        self.test_env = child_environment(env, settings.provider.environment)
        self.redactor = Redactor.from_environ(env)
        self.provider = provider
        reporters: list[Reporter] = [*extra_reporters]
        if "console" in settings.reporters:
            reporters.insert(0, ConsoleReporter(out))
        self.multiplexer = ReporterMultiplexer(reporters)
        self.started_at = dt.datetime.now(dt.UTC)
        self.started = time.monotonic()
        self.dispatcher: Dispatcher | None = None
        self.durations: dict[str, int] = {}
        self.session: PlaywrightSession | None = None
        self.state_keys: list[str] = []  # files earlier phases wrote, for units in their own copies

    def discover_tests(self) -> None:
        """List the tests with the project's Playwright."""
        self.state.discovery = discover(self.settings.test_runner, self.test_env)

    def split_units(self) -> None:
        """Split the tests into units in phases; no tests at all is an error unless passWithNoTests."""
        assert self.state.discovery is not None
        self.state.plan = plan_run(self.state.discovery, self.settings.test_runner.granularity)
        self.state.units = self.state.plan.units
        if not self.state.units:
            message = f"no tests found by {self.settings.test_runner.config}" + _filters_text(self.settings)
            if not self.settings.pass_with_no_tests:
                raise UsageError(message, hint="set passWithNoTests: true to make this a success")
            self.out.write(f"{message}; passWithNoTests is set, so this run passes\n")

    def prepare(self) -> None:
        """Check the provider can run the units; create the run folder."""
        assert self.state.discovery is not None
        if self.state.units:
            self.provider.preflight(self.state.discovery)
        run_dir = self.settings.output / self.state.run_id
        if run_dir.exists():
            raise UsageError(f"the run folder {run_dir} already exists; choose another --run-id")
        try:
            run_dir.mkdir(parents=True)
        except OSError as exc:
            where = f"output in {self.settings.source}" if self.settings.source else "output"
            raise UsageError(f"the output folder {self.settings.output} cannot hold the run's folder: "
                             f"{exc.strerror}", hint=f"--output or {where} must name a folder") from None
        self.state.run_dir = run_dir

    def start_session(self) -> None:
        """Start the run-level parts (web servers, global setup) once, where they serve the units."""
        assert self.state.discovery is not None
        discovery, runner = self.state.discovery, self.settings.test_runner
        if self.provider.shares_host:
            clear_output_dirs(discovery)
        run_level = with_overrides(discovery.run_level, runner.web_server)
        # On the local provider the units share this machine's network, so one web server serves them
        # all; elsewhere each invocation starts its own, and this one serves only the global setup.
        web_server = bool(run_level.web_servers) and (self.provider.shares_host or run_level.has_global_hooks)
        if not web_server and not run_level.has_global_hooks:
            return
        spec = SessionSpec(web_server=web_server, global_hooks=run_level.has_global_hooks,
                           use_override=runner.use, web_server_override=runner.web_server)
        what = " and ".join(filter(None, ["the web server" if web_server else "",
                                          "the global setup" if run_level.has_global_hooks else ""]))
        self.out.write(f"starting {what} once for the run…\n")
        self.out.flush()
        began = time.monotonic()
        carry = not self.provider.shares_host and run_level.has_global_hooks
        excluded = _output_dirs(discovery)
        before = snapshot(discovery.project_dir, excluded) if carry else None
        log = self.state.run_dir / "run-session.log" if self.state.run_dir is not None else None
        self.session = start_run_session(discovery, run_level, spec, self.test_env, log)
        if before is not None and self.state.run_dir is not None:
            # The global setup ran here; the units' own copies of the project get what it wrote.
            changed = changed_files(discovery.project_dir, before, excluded)
            if changed:
                self.state_keys.append(self.provider.put_run_file(
                    self.state.run_dir, "state/global-setup.tar.gz", pack(discovery.project_dir, changed)))
        self.out.write(f"ready in {time.monotonic() - began:.1f}s\n")

    def stop_session(self) -> None:
        """Run the global teardowns and stop the web servers (once; safe to call again)."""
        if self.session is None:
            return
        session, self.session = self.session, None
        problem = session.stop()
        if problem:
            problem = self.redactor.text(problem)
            self.state.teardown_error = problem
            self.out.write(f"error: the run's global teardown failed:\n{problem}\n")

    def dispatch(self) -> None:
        """Run every phase's units through the provider, reporting each as it finishes."""
        assert self.state.discovery is not None and self.state.run_dir is not None and self.state.plan is not None
        discovery, run_dir, plan = self.state.discovery, self.state.run_dir, self.state.plan
        self.multiplexer.on_begin(RunInfo(
            run_id=self.state.run_id, total_tests=len(discovery.tests), units=self.state.units,
            concurrency=self.settings.concurrency, provider=self.provider.name, output_dir=str(run_dir)))
        run_level = self._run_level_payload(discovery, plan)

        def execute(unit: Unit) -> Mapping[str, Any]:
            payload = {**_payload(unit, self.state.run_id, discovery, self.settings), **run_level(unit)}
            # whatever a test printed or asserted, a known secret goes no further than this
            result = self.provider.execute(self.provider.unit_payload(payload, run_dir, discovery))
            return self.redactor.value(well_formed(result))

        def finished(outcome: UnitOutcome) -> None:
            records = unit_records(outcome.unit, outcome.result)
            self.state.records_by_unit[outcome.unit.id] = records
            self.multiplexer.on_unit_end(outcome.unit, records)

        self.durations = load_durations(self.settings.output)
        self.dispatcher = Dispatcher(execute, self.settings.concurrency, on_begin=self.multiplexer.on_unit_begin,
                                     on_end=finished, ordering=longest_first(self.durations))
        gate = Gate(plan.requires)
        for phase in plan.phases:
            runnable = []
            for unit in phase.units:
                blocking = gate.blocking(group_of(unit))
                if not blocking:
                    runnable.append(unit)
                    continue
                # As in Playwright: a project whose dependencies failed does not run; its tests are skipped.
                self.multiplexer.on_unit_begin(unit)
                finished(UnitOutcome(unit, {"status": "ok", "error": None, "tests": not_run_records(unit, blocking)}))
            try:
                self.state.outcomes.extend(self.dispatcher.run(runnable))
            except KeyboardInterrupt:
                # Ctrl-C: stop every unit, then report what finished; the rest is `interrupted`.
                self.state.interrupted = True
                self.out.write("\ninterrupted: stopping the running units…\n")
                self.stop_dispatch()
                self.state.outcomes.extend(self.dispatcher.finished())
                return
            gate.record(record for unit in phase.units for record in self.state.records_by_unit.get(unit.id, []))
            self.state_keys.extend(str(o.result["state"]) for o in self.state.outcomes
                                   if o.unit in phase.units and isinstance(o.result.get("state"), str))

    def _run_level_payload(self, discovery: Discovery, plan: RunPlan) -> Callable[[Unit], dict[str, Any]]:
        """What each unit's payload says about the run-level parts: what the session runs, the env its
        global setup left, the web server a sandbox keeps, and the files earlier phases wrote."""
        common: dict[str, Any] = {
            "noDeps": True,  # the phases run the dependencies
            "omit": ["webServer", "globalHooks"] if self.provider.shares_host else ["globalHooks"],
            "env": dict(self.session.env) if self.session is not None else {},
        }
        servers = with_overrides(discovery.run_level, self.settings.test_runner.web_server).web_servers
        if servers and not self.provider.shares_host:
            # A sandbox keeps the web server it started for its later invocations (checked first).
            common["sandboxServer"] = {"checks": [{"url": server.url, "port": server.port} for server in servers]}
        # Where units do not share the project folder, what a phase writes (a saved sign-in) reaches
        # later phases through the store: every unit but the last phase's captures, all restore.
        carry = not self.provider.shares_host and (len(plan.phases) > 1 or bool(self.state_keys))
        last_units = set(plan.phases[-1].units) if plan.phases else set()
        excluded = _output_dirs(discovery)

        def extras(unit: Unit) -> dict[str, Any]:
            if not carry:
                return common
            return {**common, "state": {"restore": list(self.state_keys), "capture": unit not in last_units,
                                        "exclude": excluded}}

        return extras

    def stop_dispatch(self) -> None:
        """Teardown of dispatch: after an interruption, start no more units and stop the running ones."""
        if self.dispatcher is None or (self.dispatcher.wait(0) and not self.state.interrupted):
            return  # finished normally
        self.dispatcher.stop()
        self.provider.cancel()
        self.dispatcher.wait(15.0)
        self.provider.cancel()  # a unit that was starting as the first signal went out

    def report(self) -> None:
        """Aggregate, write results.json, JUnit and the merged HTML report, then tell the reporters."""
        state = self.state
        assert state.discovery is not None and state.run_dir is not None
        records = well_formed(ordered_records(state.units, state.records_by_unit, state.discovery.tests,
                                              interrupted=state.interrupted))  # titles from discovery too
        counts = stats(records)
        verdict, state.exit_code = conclusion(counts, self.settings.fail_on_flaky)
        if state.teardown_error and state.exit_code == ExitCode.OK:
            verdict, state.exit_code = "error", ExitCode.INFRASTRUCTURE  # the tests passed; the run did not
        if state.interrupted:
            verdict, state.exit_code = "failed", ExitCode.INTERRUPTED
        if "html" in self.settings.reporters:
            _merge_html(state, self.provider, self.out, records, self.started_at)
        for record in records:
            for artifact in record["artifacts"]:
                url = self.provider.artifact_url(artifact["path"])
                if url:
                    artifact["url"] = url
        result: dict[str, Any] = {
            "schemaVersion": RESULT_SCHEMA_VERSION,
            "runId": state.run_id,
            "hypertestVersion": __version__,
            "playwrightVersion": state.discovery.playwright_version,
            "rootDir": str(state.discovery.root_dir),
            "provider": self.provider.name,
            "providerDetails": dict(self.provider.details()),
            "concurrency": self.settings.concurrency,
            "startedAt": self.started_at.isoformat().replace("+00:00", "Z"),
            "durationMs": int((time.monotonic() - self.started) * 1000),
            "conclusion": verdict,
            "exitCode": int(state.exit_code),
            "stats": counts,
            "units": [_unit_summary(o) for o in state.outcomes],
            "tests": records,
            "reports": dict(state.reports),
        }
        if "junit" in self.settings.reporters:
            result["reports"]["junit"] = str(write_junit(result, state.run_dir / "junit.xml"))
        result["reports"]["results"] = str(state.run_dir / "results.json")
        result["reports"].update(self.provider.report_links(state.run_dir, dict(result["reports"])))
        (state.run_dir / "results.json").write_text(json.dumps(result, indent=2, ensure_ascii=False),
                                                    encoding="utf-8")
        self.provider.publish(state.run_dir)
        save_durations(self.settings.output, self.durations, records)
        state.result = result
        self.multiplexer.on_end(result)


def _payload(unit: Unit, run_id: str, discovery: Discovery, settings: Settings) -> dict[str, Any]:
    return {
        "runId": run_id,
        "unitId": unit.id,
        "tests": [{"id": t.id, "project": t.project, "file": t.file, "titlePath": list(t.title_path),
                   "repeatEachIndex": t.repeat_each_index or 0} for t in unit.tests],
        "selectors": [{"project": s.project, "file": s.file, "titlePath": list(s.title_path)}
                      for s in unit.selectors],
        "projectDir": str(discovery.project_dir),
        "configFile": os.path.relpath(discovery.config_file, discovery.project_dir),
        "retries": settings.test_runner.retries,
        "timeoutMs": None,
        "artifacts": {},
        "use": settings.test_runner.use,
        "webServer": settings.test_runner.web_server,
    }


def _output_dirs(discovery: Discovery) -> list[str]:
    """The projects' output folders relative to the project (left out of the files carried between phases)."""
    found = set()
    for project in discovery.projects:
        if project.output_dir is not None and project.output_dir.is_relative_to(discovery.project_dir):
            found.add(project.output_dir.relative_to(discovery.project_dir).as_posix())
    return sorted(found)


def _unit_summary(outcome: UnitOutcome) -> dict[str, Any]:
    result = outcome.result if isinstance(outcome.result, Mapping) else {}
    return {
        "id": outcome.unit.id,
        "tests": [t.id for t in outcome.unit.tests],
        "status": result.get("status") if result.get("status") in ("ok", "error", "deadline") else "error",
        "error": result.get("error"),
        "startedAt": result.get("startedAt"),
        "durationMs": result.get("durationMs", 0),
        "blob": result.get("blob"),
    }


def _merge_html(state: InvokeState, provider: Provider, out: TextIO, records: Sequence[Mapping[str, Any]],
                started_at: dt.datetime) -> None:
    """Merge the units' blobs into one HTML report spanning the run, with the tests no blob has."""
    assert state.run_dir is not None and state.discovery is not None
    keys = [str(o.result["blob"]) for o in state.outcomes
            if isinstance(o.result, Mapping) and o.result.get("blob")]
    if not keys:
        out.write("warning: no unit produced a blob report, so there is no HTML report\n")
        return
    report_dir = state.run_dir / "report"
    # no Playwright result in any blob: the unit crashed (error), the test never ran (no attempt), or its
    # unit never started (skipped after a failed setup project, interrupted by Ctrl-C); the merge leaves
    # out those a blob has after all
    with_blob = {o.unit.id for o in state.outcomes if isinstance(o.result, Mapping) and o.result.get("blob")}
    extra = [r for r in records if r["status"] == "error" or not r["attempts"] or r["unitId"] not in with_blob]
    try:
        blob_dir = provider.collect_blobs(state.run_dir, keys)
        index = merge_html_report(blob_dir, report_dir, state.discovery.project_dir, extra_records=extra,
                                  started_at=started_at)
    except (MergeError, OSError, RuntimeError) as exc:
        out.write(f"warning: the merged HTML report could not be built: {exc}\n")
        shutil.rmtree(report_dir, ignore_errors=True)
        return
    state.reports["html"] = str(index)


def _filters_text(settings: Settings) -> str:
    runner = settings.test_runner
    parts = []
    if runner.projects:
        parts.append(f"projects {', '.join(runner.projects)}")
    if runner.grep:
        parts.append(f"grep {runner.grep!r}")
    if runner.grep_invert:
        parts.append(f"grepInvert {runner.grep_invert!r}")
    if runner.tags:
        parts.append(f"tags {', '.join(runner.tags)}")
    return f" (with {'; '.join(parts)})" if parts else ""
