"""The invoke pipeline: discover, split, dispatch, aggregate, report; the exit code tells the truth."""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from hypertest.core.aggregate import (
    conclusion,
    not_run_records,
    ordered_records,
    settled_unit_result,
    skipped_records,
    stats,
)
from hypertest.core.config import Settings
from hypertest.core.contracts import Discovery, NoRunHooks, Provider, RunContext, RunHooks, RunInfo
from hypertest.core.dispatcher import Dispatcher, UnitOutcome
from hypertest.core.durations import longest_first
from hypertest.core.events import ReporterMultiplexer
from hypertest.core.limits import (
    FailureBudget,
    settle_interrupted_unit,
    settle_stopped_unit,
    stopped_message,
    stopped_reason,
)
from hypertest.core.packing import Packing, plan_run
from hypertest.core.pipeline import Pipeline, Task
from hypertest.core.plan import Gate, RunPlan, group_of
from hypertest.core.quarantine import counted
from hypertest.core.redaction import Redactor
from hypertest.core.registry import provider_entry, reporters, runner_plugin
from hypertest.core.report_preparation import ReportPreparation
from hypertest.core.retries import Retries
from hypertest.core.retry_unit import retry_of, retry_payload
from hypertest.core.run_history import RunHistory
from hypertest.core.run_id import make_run_folder, new_run_id
from hypertest.core.run_memory import PastRuns
from hypertest.core.run_result import in_reporters_order, link_artifacts, merged_report, run_result, write_results
from hypertest.core.strings import well_formed
from hypertest.core.suite import Unit
from hypertest.errors import ExitCode, UsageError
from runner.environment import child_environment
from runner.model import RunResult, TestRecord, UnitResult


@dataclass
class InvokeState:
    """What the pipeline's tasks hand to each other."""

    run_id: str
    discovery: Discovery | None = None
    plan: RunPlan | None = None
    units: list[Unit] = field(default_factory=list)
    run_dir: Path | None = None
    outcomes: list[UnitOutcome] = field(default_factory=list)
    records_by_unit: dict[str, list[TestRecord]] = field(default_factory=dict)
    reports: dict[str, str] = field(default_factory=dict)
    result: RunResult | None = None
    exit_code: ExitCode = ExitCode.OK
    interrupted: bool = False
    packing: Packing | None = None  # what granularity auto packed
    teardown_error: str | None = None  # the run's global teardown failed (Playwright fails such a run)


def make_provider(settings: Settings, environ: Mapping[str, str], out: TextIO) -> Provider:
    """The provider the settings name."""
    return provider_entry(settings.provider.type).create(settings, environ, out)


def invoke(settings: Settings, *, run_id: str | None = None, stream: TextIO | None = None,
           environ: Mapping[str, str] | None = None, provider: Provider | None = None) -> InvokeState:
    """Run the whole suite once; the returned state holds results.json's document and the exit code."""
    env = dict(os.environ if environ is None else environ)
    out = stream or sys.stdout
    run = _InvokeRun(settings, InvokeState(run_id=run_id or new_run_id()), out=out, env=env,
                     provider=provider or make_provider(settings, env, out))
    Pipeline([Task("slots", run.start_slots, teardown=run.provider.close), Task("run", run.run)]).run()
    return run.state


class _InvokeRun:
    """The tasks of one invoke, sharing one InvokeState."""

    def __init__(self, settings: Settings, state: InvokeState, *, out: TextIO, env: dict[str, str],
                 provider: Provider) -> None:
        self.settings = settings
        self.state = state
        self.out = out
        self.env = env
        # what the user's code (config, global setup, web server, tests) gets: no secrets of the machinery
        self.test_env = child_environment(env, settings.provider.environment)
        self.redactor = Redactor.from_environ(env)
        self.provider = provider
        self.plugin = runner_plugin(settings.test_runner.type)
        self.multiplexer = ReporterMultiplexer(reporters(settings.reporters, out))
        self.started_at = dt.datetime.now(dt.UTC)
        self.started = time.monotonic()
        self.dispatcher: Dispatcher | None = None
        self.durations: Mapping[str, int] = {}
        self.past = PastRuns()
        self.history: RunHistory | None = None  # read while the tests are discovered
        self.hooks: RunHooks = NoRunHooks()
        self.exempt_batch = False  # the units dispatched now still run after maxFailures (teardown projects)
        self.said_stopped = False
        self.preparation: ReportPreparation | None = None  # the merged report's tool, started as the last units run
        self.stopped_running = False  # maxFailures stopped the units running: their cut-short tests are interrupted

    def context(self) -> RunContext:
        """What the plugin's run-level hooks and report see of this run."""
        assert self.state.run_dir is not None and self.state.plan is not None
        return RunContext(settings=self.settings, run_dir=self.state.run_dir, plan=self.state.plan,
                          provider=self.provider, test_env=self.test_env, out=self.out)

    def run(self) -> None:
        """Discover, split and prepare; then, when there are units, run them between the session's start and
        end, and report."""
        Pipeline([Task("discover", self.discover_tests), Task("units", self.split_units),
                  Task("prepare", self.prepare)]).run()
        if self.state.units:
            try:
                Pipeline([Task("session", self.start_session, teardown=self.stop_session),
                          Task("dispatch", self.dispatch, teardown=self.stop_dispatch),
                          Task("session end", self.stop_session), Task("report", self.report)]).run()
            finally:
                if self.preparation is not None:
                    self.preparation.close()

    def start_slots(self) -> None:
        """Have the provider start its slots, and what the units will keep, while the tests are discovered (as
        many as may run at once here)."""
        part = self.plugin.warm_up_part(self.settings, self.test_env)
        payload = None if part is None else {
            "runner": self.plugin.name, "runId": self.state.run_id, "unitId": "warm-up",
            "projectDir": str(part.project_dir), "timeoutMs": None, "artifacts": {}, "unit": dict(part.unit)}
        self.provider.warm_up(payload, min(self.settings.concurrency, os.cpu_count() or 1))
        self.history = RunHistory(self.settings, self.provider, self.env, self._warn)

    def unit_payload(self, unit: Unit, allowed: int | None) -> dict[str, Any]:
        """The payload of one unit, as the provider sends it (allowed: the failures it may still count)."""
        assert self.state.discovery is not None and self.state.run_dir is not None
        discovery = self.state.discovery
        payload = {"runner": self.plugin.name, "runId": self.state.run_id, "unitId": unit.id,
                   "projectDir": str(discovery.project_dir), "timeoutMs": None, "artifacts": {},
                   "unit": {**self.plugin.unit_part(unit, discovery, self.settings),
                            **self.hooks.unit_extras(unit),
                            **({"maxFailures": allowed} if allowed is not None else {})}}
        return self.provider.unit_payload(payload, self.state.run_dir, discovery)

    def discover_tests(self) -> None:
        """List the tests with the test runner's plugin."""
        self.state.discovery = self.plugin.discover(self.settings.test_runner, self.test_env)

    def split_units(self) -> None:
        """Split the tests into units in phases; no tests at all is an error unless passWithNoTests."""
        assert self.state.discovery is not None
        self.history = self.history or RunHistory(self.settings, self.provider, self.env, self._warn)
        self.past = self.history.past(self.plugin.name, self.state.discovery.tests, self.out)
        self.durations = self.past.durations  # read once: packing and the dispatch order
        self.state.plan, packing = plan_run(self.plugin, self.state.discovery, self.settings, self.past)
        if packing is not None:
            self.state.packing = packing
            self.out.write(f"{packing.describe()}\n")
        self.state.units = self.state.plan.units
        if not self.state.units:
            message = f"no tests found by {self.settings.test_runner.config}" + self.settings.test_runner.filters_text()
            if not self.settings.pass_with_no_tests:
                raise UsageError(message, hint="set passWithNoTests: true to make this a success")
            self.out.write(f"{message}; passWithNoTests is set, so this run passes\n")

    def prepare(self) -> None:
        """Check the provider can run the units; create the run folder."""
        assert self.state.discovery is not None
        if self.state.units:
            self.provider.preflight(self.state.discovery, self.past.peaks)
        self.state.run_dir = make_run_folder(self.settings.output, self.state.run_id, self.settings.source)

    def start_session(self) -> None:
        """Start the plugin's run-level parts (web servers, global setup) once, before the first unit."""
        assert self.state.discovery is not None
        self.hooks = self.plugin.run_hooks(self.state.discovery, self.context())
        self.hooks.start()

    def stop_session(self) -> None:
        """Stop the run-level parts (once; safe to call again); a teardown that fails fails the run."""
        hooks, self.hooks = self.hooks, NoRunHooks()
        problem = hooks.stop()
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

        limits = discovery.limits()
        budget = FailureBudget(limits.max_failures)
        preparation = self.preparation = ReportPreparation(
            lambda: self.plugin.prepare_report(discovery, self.context()), len(self.state.units),
            wanted="html" in self.settings.reporters)

        def began(unit: Unit) -> None:
            preparation.unit_began()
            self.multiplexer.on_unit_begin(unit)
        unit_limit: dict[str, int] = {}  # unit -> the failures it was allowed when it started
        retries = Retries.of(self.settings)  # fresh attempts, and the tests the infrastructure lost

        def execute(unit: Unit) -> object:
            allowed = None if self.exempt_batch else budget.remaining
            if allowed is not None:
                unit_limit[unit.id] = allowed
            answer = self.provider.execute(retry_payload(unit, self.unit_payload(unit, allowed)))
            # whatever a test printed or asserted, a known secret goes no further (the dispatcher parses the rest)
            return self.redactor.value(well_formed(answer))

        def finished(outcome: UnitOutcome) -> None:
            records = settle_stopped_unit(outcome.result["tests"], unit_limit.get(outcome.unit.id, limits.max_failures))
            cut = self.stopped_running and not self.exempt_batch
            if cut:  # cut short by the stop below
                records = settle_interrupted_unit(records, limits.max_failures)
            # each test reported once, after its last attempt (retries.py); its attempts merged under its unit
            records = retries.finish(outcome, records, self.dispatcher, self.state.records_by_unit,
                                     cut_short=cut or self.state.interrupted)
            self.multiplexer.on_unit_end(outcome.unit, records)
            if budget.add(records) and not self.exempt_batch and self.dispatcher is not None:
                # As in Playwright: no test starts after maxFailures failed tests (teardown projects still run),
                # and the tests running are interrupted (where the provider can stop a running unit).
                self.dispatcher.stop()
                self.stopped_running = True
                self._say_stopped(budget, stops_running=self.provider.stop_running())
            preparation.unit_ended()

        def not_run(unit: Unit, records: list[TestRecord]) -> None:
            began(unit)
            finished(UnitOutcome(unit, settled_unit_result(unit, records)))

        self.dispatcher = Dispatcher(execute, self.settings.concurrency, on_begin=began,
                                     on_end=finished, ordering=longest_first(self.durations),
                                     limits=limits.group_workers, group=group_of)
        gate = Gate(plan.requires)
        for phase in plan.phases:
            runnable = []
            for unit in phase.units:
                blocking = gate.blocking(group_of(unit))
                if not blocking:
                    runnable.append(unit)
                    continue
                # As in Playwright: a project whose dependencies failed does not run; its tests are skipped.
                not_run(unit, not_run_records(unit, blocking))
            # As in Playwright, the projects maxFailures does not stop (teardowns) run after the others of a phase.
            exempt = [unit for unit in runnable if group_of(unit) in limits.exempt_groups]
            for batch in ([unit for unit in runnable if unit not in exempt], exempt):
                try:
                    self.state.outcomes.extend(self._run_batch(batch, budget, batch is exempt, not_run, retries))
                except KeyboardInterrupt:
                    # Ctrl-C: stop every unit, then report what finished; the rest is `interrupted`.
                    self.state.interrupted = True
                    self.out.write("\ninterrupted: stopping the running units…\n")
                    self.stop_dispatch()
                    self.state.outcomes.extend(self.dispatcher.finished())
                    return
            gate.record(record for unit in phase.units for record in self.state.records_by_unit.get(unit.id, []))
            self.hooks.phase_finished(phase.units, self._results_of(phase.units))

    def _run_batch(self, units: list[Unit], budget: FailureBudget, exempt: bool,
                   not_run: Callable[[Unit, list[TestRecord]], None],
                   retries: Retries) -> list[UnitOutcome]:
        """Dispatch units; after maxFailures, those it stops (all but exempt ones) are reported as not run, and
        the retries it left waiting end their tests as they are."""
        assert self.dispatcher is not None
        self.exempt_batch = exempt
        outcomes = self.dispatcher.run(units) if units and (exempt or not budget.reached) else []
        started = {outcome.unit.id for outcome in outcomes}
        stopped = [unit for unit in units if unit.id not in started and budget.reached and not exempt]
        if stopped:
            self._say_stopped(budget)
        for unit in stopped:
            not_run(unit, skipped_records(unit, stopped_reason(budget.max_failures)))
        for unit in self.dispatcher.left_over():  # a retry the stop left waiting: its tests end as they are
            self.multiplexer.on_unit_begin(unit)
            self.multiplexer.on_unit_end(unit, final := retries.abandon(unit))
            budget.add(final)
        return outcomes

    def _results_of(self, units: Sequence[Unit]) -> list[UnitResult]:
        """The results of units and of their retries, in the order they ran (a retry's state after its unit's)."""
        ids = {unit.id for unit in units}
        return [o.result for o in self.state.outcomes if o.unit.id in ids or retry_of(o.unit) in ids]

    def _warn(self, text: str) -> None:
        """A warning on the console (history problems: the run goes on)."""
        self.out.write(f"warning: {self.redactor.text(text)}\n")

    def _say_stopped(self, budget: FailureBudget, *, stops_running: bool = True) -> None:
        """Say once that maxFailures stopped the run (as Playwright's "Testing stopped early")."""
        if not self.said_stopped:
            self.said_stopped = True
            self.out.write(stopped_message(budget.max_failures, self.provider.name, stops_running=stops_running))

    def stop_dispatch(self) -> None:
        """Teardown of dispatch: after an interruption, start no more units and stop the running ones."""
        if self.dispatcher is None or (self.dispatcher.wait(0) and not self.state.interrupted):
            return  # finished normally
        self.dispatcher.stop()
        self.provider.cancel()
        self.dispatcher.wait(15.0)
        self.provider.cancel()  # a unit that was starting as the first signal went out

    def report(self) -> None:
        """Aggregate, write the reporters' files, the merged HTML report and results.json, then tell the reporters."""
        state = self.state
        assert state.discovery is not None and state.run_dir is not None and self.history is not None
        records = well_formed(ordered_records(state.units, state.records_by_unit, state.discovery.tests,
                                              interrupted=state.interrupted))  # titles from discovery too
        triage = self.history.judge(records)  # quarantine and triage against the base branch
        counts = stats(records)
        verdict, state.exit_code = conclusion(stats(counted(records)), self.settings.fail_on_flaky,
                                              teardown_failed=bool(state.teardown_error), interrupted=state.interrupted)
        link_artifacts(records, self.provider)
        result = run_result(run_id=state.run_id, plugin=self.plugin, discovery=state.discovery, provider=self.provider,
                            concurrency=self.settings.concurrency, started_at=self.started_at,
                            duration_ms=int((time.monotonic() - self.started) * 1000), verdict=verdict,
                            exit_code=state.exit_code, counts=counts, outcomes=state.outcomes, records=records,
                            packing=state.packing)
        self.history.describe(result, triage)
        made = {**self.multiplexer.reports(result, state.run_dir),  # JUnit, ...
                **(merged_report(self.plugin, state.discovery, self.context(), result, self.started_at,
                                 prepared=self.preparation.take() if self.preparation else None)
                   if "html" in self.settings.reporters else {})}
        state.reports.update(write_results(result, state.run_dir, in_reporters_order(made, self.settings.reporters),
                                           self.provider))
        self.provider.publish(state.run_dir)
        self.history.remember(result, self.plugin.name)
        state.result = result
        self.multiplexer.on_end(result)

