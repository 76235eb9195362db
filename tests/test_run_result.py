"""results.json's reports: the merged HTML report is the test runner plugin's step, called by core; the
reports are listed in the order of the `reporters` setting."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from hypertest.core.run_result import in_reporters_order, merged_report


class Plugin:
    """A plugin's merge step, recording what core gave it."""

    def __init__(self, made: Path | None = None, error: Exception | None = None) -> None:
        self.made, self.error = made, error
        self.given: list[tuple[Any, ...]] = []

    def merge_report(self, discovery: Any, context: Any, units: Any, records: Any, started_at: Any, *,
                     prepared: Any = None) -> Path | None:
        self.given.append((units, records, started_at, prepared))
        if self.error is not None:
            raise self.error
        return self.made


RESULT: Any = {"units": [{"id": "u1", "tests": ["t"], "status": "ok", "error": None, "durationMs": 1,
                          "blob": "b.zip"}], "tests": [{"id": "t"}]}
STARTED = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)


def test_the_plugin_merges_from_the_units_and_records_of_results_json(tmp_path: Path) -> None:
    plugin = Plugin(made=tmp_path / "report" / "index.html")
    prepared = object()
    assert merged_report(plugin, None, None, RESULT, STARTED, prepared=prepared) == {  # type: ignore[arg-type]
        "html": str(tmp_path / "report" / "index.html")}
    assert plugin.given == [(RESULT["units"], RESULT["tests"], STARTED, prepared)]


def test_no_report_when_the_plugin_makes_none_or_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert merged_report(Plugin(made=None), None, None, RESULT, STARTED) == {}  # type: ignore[arg-type]
    assert merged_report(Plugin(error=ValueError("no blobs")), None, None, RESULT, STARTED) == {}  # type: ignore[arg-type]
    assert "warning: the merged HTML report failed: no blobs" in capsys.readouterr().err


def test_reports_are_listed_in_the_order_of_the_reporters_setting() -> None:
    made = {"junit": "j.xml", "html": "index.html", "extra": "x"}
    assert list(in_reporters_order(made, ("console", "html", "junit"))) == ["html", "junit", "extra"]
    assert list(in_reporters_order(made, ("console", "junit", "html"))) == ["junit", "html", "extra"]
