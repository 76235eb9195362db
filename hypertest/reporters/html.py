"""`reporters: [html]`: one HTML report of the whole run, in the test runner's own format (Playwright's
merged from the units' blob reports); a runner without one (pytest) leaves it out."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from hypertest.core.events import MergeReport, Reporter, RunInfo


class HtmlReporter(Reporter):
    """Asks the test runner's plugin for its merged report when the run's results are known."""

    def __init__(self) -> None:
        self.merge: MergeReport | None = None

    def on_begin(self, info: RunInfo) -> None:
        """Keep the plugin's way of merging this run's report."""
        self.merge = info.merge_report

    def reports(self, result: Mapping[str, Any], run_dir: Path) -> Mapping[str, str]:
        """report/index.html in the run folder, when the plugin makes one."""
        if self.merge is None:
            return {}
        index = self.merge(result["units"], result["tests"])
        return {"html": str(index)} if index is not None else {}


def REPORTER(out: TextIO) -> Reporter:
    """The merged HTML report."""
    return HtmlReporter()
