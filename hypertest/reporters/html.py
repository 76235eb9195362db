"""`reporters: [html]`: one HTML report of the whole run, in the test runner's own format (Playwright's,
merged from the units' blob reports). Making it is the test runner plugin's own step (its merge_report),
which core runs at the end of a run whose `reporters` names html and lists in results.json's `reports`; a
runner without one (pytest) leaves it out. The name is registered here so that the setting keeps naming
it; the reporter itself has no event to handle."""

from __future__ import annotations

from typing import TextIO

from hypertest.core.contracts import Reporter


class HtmlReporter(Reporter):
    """The `html` reporter: the merged report is core's call to the plugin, so no event is needed here."""


def REPORTER(out: TextIO) -> Reporter:
    """The merged HTML report's name in `reporters`."""
    return HtmlReporter()
