"""The result model host and runner share: a unit result and its test records (schema/result.schema.json),
the run result of results.json (schema/run-result.schema.json), and the one constructor of each error.

It lives in runner/ because the runner ships alone in the Lambda image; the host imports it from here.
tests/test_result_model.py keeps these types and the schemas in agreement (tests import this module, not
its Test* names, which pytest would take for test classes).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, NotRequired, TypedDict, cast

from runner import RESULT_SCHEMA_VERSION


class ErrorLocation(TypedDict):
    """Where an error happened."""

    file: str
    line: int
    column: int


class ErrorInfo(TypedDict):
    """An error of an attempt."""

    message: str
    stack: NotRequired[str]
    location: NotRequired[ErrorLocation | None]


class Attempt(TypedDict):
    """One run of a test (retries make more)."""

    retry: int
    status: str
    durationMs: int
    setupMs: NotRequired[int]  # of durationMs, the test's setup (pytest: fixtures), when the runner says
    teardownMs: NotRequired[int]  # of durationMs, the test's teardown, when the runner says
    startTime: NotRequired[str | None]
    error: ErrorInfo | None
    errors: NotRequired[list[ErrorInfo]]
    sandbox: NotRequired[str]  # where this attempt ran (a process, a container, a Lambda sandbox), when known


class Artifact(TypedDict):
    """A stored file of a test: trace, screenshot, video, or one the test wrote."""

    name: str
    path: str
    contentType: str
    attempt: NotRequired[int | None]
    url: NotRequired[str]


class TestPlace(TypedDict):
    """Which test a record is of, and where it is written."""

    id: str
    project: str
    file: str
    line: int
    column: int
    titlePath: list[str]


# A failing, flaky or fixed test's place in failure triage (core/triage.py): its class (new | pre-existing | flaky |
# infra | fixed), the evidence in one sentence, the history runs it rests on, and the flaky rate when one was seen.
Triage = TypedDict("Triage", {"class": str, "evidence": str, "runs": list[str], "rate": NotRequired[float]})


class TestRecord(TestPlace):
    """A test's final record."""

    status: str
    expectedStatus: str
    outcome: str
    annotations: list[dict[str, Any]]
    attempts: list[Attempt]
    artifacts: list[Artifact]
    tags: NotRequired[list[str]]  # results.json: required
    unitId: NotRequired[str]  # results.json: required
    repeatEachIndex: NotRequired[int]
    infra: NotRequired[str]  # status error: the infrastructure cause (OOM, timeout, crash, throttled, ...)
    triage: NotRequired[Triage]
    quarantined: NotRequired[bool]  # its failure is reported but does not fail the run


class Resources(TypedDict):
    """What a unit used of its sandbox."""

    peakMemoryMb: int
    peakTmpMb: int | None


class UnitResult(TypedDict):
    """What one runner invocation returns."""

    schemaVersion: int
    runId: str
    unitId: str
    status: str  # ok | deadline | error
    error: str | None
    exitCode: int | None
    tests: list[TestRecord]
    blob: str | None
    unrequestedTests: int
    outputTail: str
    startedAt: str | None
    durationMs: int
    state: NotRequired[str]
    resources: NotRequired[Resources]
    runPath: NotRequired[str]  # how the test runner ran: "command line", "warm host (<shape>)"
    sandbox: NotRequired[str]  # where the unit ran (runner/sandbox_id.py)
    infra: NotRequired[str]  # status error or deadline: the infrastructure cause, when known


class Stats(TypedDict):
    """The run's counts."""

    total: int
    passed: int
    failed: int
    flaky: int
    skipped: int
    errors: int
    expected: int
    unexpected: int
    expectedFailures: int
    timedOut: int
    interrupted: int
    quarantined: NotRequired[int]  # unexpected tests whose failure does not fail the run


class UnitSummary(TypedDict):
    """A unit in results.json."""

    id: str
    tests: list[str]
    status: str
    error: str | None
    startedAt: NotRequired[str | None]
    durationMs: int
    blob: NotRequired[str | None]
    resources: NotRequired[Resources]
    runPath: NotRequired[str]
    sandbox: NotRequired[str]
    infra: NotRequired[str]
    retryOf: NotRequired[str]  # a fresh retry: the unit whose failed tests it runs again


class TriageCounts(TypedDict):
    """How many tests triage put in each class."""

    new: int
    preExisting: int
    flaky: int
    infra: int
    fixed: int
    quarantined: int


class HistoryUse(TypedDict):
    """What the run read of the history (results.json's `history`): where, how many past runs, and how the units
    were ordered from them."""

    where: str
    runs: int  # past runs read (this branch's and its base's)
    timedTests: int  # tests of this run with a past duration
    order: str  # longest first | discovery order


class TriageInfo(TypedDict):
    """What triage compared this run with (results.json's `triage`)."""

    branch: str
    commit: str
    base: str
    baseRuns: list[str]  # the base branch's run ids read, newest first
    history: str  # where the history lives
    counts: TriageCounts


class Packed(TypedDict):
    """What granularity auto packed."""

    packs: int
    packedTests: int


class RunnerInfo(TypedDict):
    """The test runner of a run: its plugin's name (testRunner.type) and its version."""

    name: str
    version: str


class NodeRefusal(TypedDict):
    """A Node.js candidate that was not taken, and why."""

    source: str
    path: str
    reason: str


class NodeInfo(TypedDict):
    """The Node.js that ran Playwright (runner/node.py NodeChoice.result_field)."""

    path: str
    version: str
    source: str
    reason: str
    foundAt: NotRequired[str]
    refused: NotRequired[list[NodeRefusal]]


class PythonInfo(TypedDict):
    """The Python that ran a pytest suite (hypertest/plugins/pytest/discovery.py result_fields)."""

    path: str
    version: str
    source: str
    reason: str


class RunnerFields(TypedDict, total=False):
    """What a test runner's plugin adds to results.json beside core's keys (Discovery.result_fields)."""

    playwrightVersion: str
    node: NodeInfo
    python: PythonInfo


class RunResult(TypedDict):
    """results.json."""

    schemaVersion: int
    runId: str
    hypertestVersion: str
    runner: NotRequired[RunnerInfo]  # always written; files of older versions have only playwrightVersion
    playwrightVersion: NotRequired[str]  # Playwright runs only: runner.version, under its older name
    node: NotRequired[NodeInfo]  # Playwright runs only: the Node.js that ran it
    python: NotRequired[PythonInfo]  # pytest runs only: the Python that listed (and locally ran) the tests
    rootDir: NotRequired[str]
    provider: str
    providerDetails: NotRequired[dict[str, Any]]
    concurrency: int
    startedAt: str
    durationMs: int
    conclusion: str
    exitCode: int
    stats: Stats
    units: list[UnitSummary]
    tests: list[TestRecord]
    reports: dict[str, str]
    packing: NotRequired[Packed]
    triage: NotRequired[TriageInfo]
    history: NotRequired[HistoryUse]


# What runner/<name>/entry.py's prepare() returns the run as: (monotonic deadline, environment) -> result.
UnitRun = Callable[[float, Mapping[str, str] | None], dict[str, Any]]


def ran_unit_result(*, run_id: str, unit_id: str, status: str, error: str | None, exit_code: int | None,
                    tests: Sequence[Mapping[str, Any]], blob: str | None, unrequested: int,
                    output_tail: str) -> UnitResult:
    """A unit whose test runner ran (to its end, or until its deadline or a failure stopped it)."""
    return {"schemaVersion": RESULT_SCHEMA_VERSION, "runId": run_id, "unitId": unit_id, "status": status,
            "error": error, "exitCode": exit_code, "tests": cast(list[TestRecord], list(tests)), "blob": blob,
            "unrequestedTests": unrequested, "outputTail": output_tail, "startedAt": None, "durationMs": 0}


def error_unit_result(message: str, *, run_id: str = "", unit_id: str = "",
                      tests: Sequence[Mapping[str, Any]] = ()) -> UnitResult:
    """A unit that could not run or whose result was lost; tests are its error records, if any were made
    (aggregation makes them for the unit's tests otherwise)."""
    return {"schemaVersion": RESULT_SCHEMA_VERSION, "runId": run_id, "unitId": unit_id, "status": "error",
            "error": message, "exitCode": None, "tests": cast(list[TestRecord], list(tests)), "blob": None,
            "unrequestedTests": 0,
            "outputTail": "", "startedAt": None, "durationMs": 0}


def error_info(message: str, *, stack: str = "", location: ErrorLocation | None = None) -> ErrorInfo:
    """An error: its message, and its stack and location when known."""
    return {"message": message, "stack": stack, "location": location}


def make_attempt(*, status: str, retry: int = 0, duration_ms: int = 0, start_time: str | None = None,
                 errors: Sequence[ErrorInfo] = (), setup_ms: int | None = None,
                 teardown_ms: int | None = None) -> Attempt:
    """One run of a test; its `error` is the first of its errors (None without any); setup and teardown times
    when the runner knows them."""
    listed = list(errors)
    attempt: Attempt = {"retry": retry, "status": status, "durationMs": duration_ms, "startTime": start_time,
                        "error": listed[0] if listed else None, "errors": listed}
    if setup_ms is not None:
        attempt["setupMs"] = setup_ms
    if teardown_ms is not None:
        attempt["teardownMs"] = teardown_ms
    return attempt


def error_test_record(*, test_id: str, project: str, file: str, title_path: Sequence[str], message: str,
                      status: str = "error", line: int = 0, column: int = 0,
                      expected_status: str = "passed") -> TestRecord:
    """A test that has no valid result (status `error`, or `interrupted` when stopped before it finished)."""
    return {"id": test_id, "project": project, "file": file, "line": line, "column": column,
            "titlePath": list(title_path), "status": status, "expectedStatus": expected_status,
            "outcome": "unexpected", "annotations": [],
            "attempts": [make_attempt(status=status, errors=[error_info(message)])],
            "artifacts": []}
