"""The pytest test-runner plugin: pytest plugins that collect and report a pytest-playwright suite, and
the runner side that runs one unit of it (see unit.run_pytest_unit)."""

from __future__ import annotations

TOGETHER_MARKER = "hypertest_together"
TOGETHER_MARKER_LINE = f"{TOGETHER_MARKER}: hypertest runs the tests of this class (or module) in one unit"
RESULTS_VARIABLE = "HT_PYTEST_RESULTS_OUTPUT"  # the file the result plugin writes its JSON lines to
