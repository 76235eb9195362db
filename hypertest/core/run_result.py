"""results.json's document of a run (schema/run-result.schema.json, runner.model.RunResult), and the reports
it lists: the reporters' files and the test runner's merged HTML report, the plugin's own step."""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TypedDict, cast

from hypertest import __version__
from hypertest.core.aggregate import unit_summary
from hypertest.core.contracts import Discovery, PreparedReport, Provider, RunContext, TestRunnerPlugin
from hypertest.core.dispatcher import UnitOutcome
from hypertest.core.packing import Packing
from hypertest.errors import ExitCode
from runner import RESULT_SCHEMA_VERSION
from runner.model import Packed, RunResult, Stats, TestRecord


def run_result(*, run_id: str, plugin: TestRunnerPlugin, discovery: Discovery, provider: Provider, concurrency: int,
               started_at: dt.datetime, duration_ms: int, verdict: str, exit_code: ExitCode, counts: Stats,
               outcomes: Sequence[UnitOutcome], records: list[TestRecord], packing: Packing | None) -> RunResult:
    """The run's results.json document, its `reports` still empty (the reporters write theirs from it)."""
    return cast(RunResult, {
        "schemaVersion": RESULT_SCHEMA_VERSION,
        "runId": run_id,
        "hypertestVersion": __version__,
        "runner": {"name": plugin.name, "version": discovery.runner_version},
        **discovery.result_fields(),
        "rootDir": str(discovery.root_dir),
        "provider": provider.name,
        "providerDetails": dict(provider.details()),
        "concurrency": concurrency,
        "startedAt": started_at.isoformat().replace("+00:00", "Z"),
        "durationMs": duration_ms,
        "conclusion": verdict,
        "exitCode": int(exit_code),
        "stats": counts,
        "units": [unit_summary(o.unit, o.result) for o in outcomes],
        "tests": records,
        "reports": {},
        **_packing_field(packing),
    })


def link_artifacts(records: Sequence[TestRecord], provider: Provider) -> None:
    """Give each artifact the link its store has for it (none for a local file)."""
    for record in records:
        for artifact in record["artifacts"]:
            url = provider.artifact_url(artifact["path"])
            if url:
                artifact["url"] = url


def merged_report(plugin: TestRunnerPlugin, discovery: Discovery, context: RunContext, result: RunResult,
                  started_at: dt.datetime, *, prepared: PreparedReport | None = None) -> dict[str, str]:
    """The test runner's one HTML report of the run (`html`), made by its plugin from the units' blobs and the
    records (with what its prepare_report started); none when the plugin makes none or it failed (a warning: the
    run's results stand)."""
    try:
        index = plugin.merge_report(discovery, context, result["units"], result["tests"], started_at,
                                     prepared=prepared)
    except Exception as exc:
        print(f"warning: the merged HTML report failed: {exc}", file=sys.stderr)
        return {}
    return {"html": str(index)} if index is not None else {}


def write_results(result: RunResult, run_dir: Path, reports: Mapping[str, str], provider: Provider) -> dict[str, str]:
    """Write results.json into run_dir, listing reports (by name), itself and the provider's links to them;
    returns reports."""
    result["reports"].update(reports)
    result["reports"]["results"] = str(run_dir / "results.json")
    result["reports"].update(provider.report_links(run_dir, dict(result["reports"])))
    (run_dir / "results.json").write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
    return dict(reports)


def in_reporters_order(reports: Mapping[str, str], reporters: Sequence[str]) -> dict[str, str]:
    """The reports by name in the order of the `reporters` setting (names of no reporter last, as they come)."""
    order = {name: place for place, name in enumerate(reporters)}
    return dict(sorted(reports.items(), key=lambda item: order.get(item[0], len(order))))


class _PackingField(TypedDict, total=False):
    packing: Packed


def _packing_field(packing: Packing | None) -> _PackingField:
    """results.json's `packing`: what granularity auto packed (none: the key is left out)."""
    return {} if packing is None else {"packing": {"packs": packing.packs, "packedTests": packing.packed_tests}}
