"""Warn when a test may outlive the Lambda function that runs it."""

from __future__ import annotations

from hypertest.core.contracts import Discovery
from hypertest.providers.aws.settings import AwsSettings
from runner.handler import MIN_RESERVE_S


def timeout_warnings(discovery: Discovery, aws: AwsSettings) -> list[str]:
    """One line per project whose test timeout does not fit in the function's time."""
    usable_s = aws.timeout_s - MIN_RESERVE_S
    warnings = []
    for project in sorted({test.project for test in discovery.tests}):
        timeout_ms = discovery.test_timeout_ms(project)
        name = f"project {project!r}" if project else "the test runner's config"
        if timeout_ms <= 0:
            warnings.append(f"{name} has no test timeout, but the function stops after {aws.timeout_s} s")
        elif timeout_ms / 1000 > usable_s:
            warnings.append(f"{name}'s test timeout ({timeout_ms / 1000:g} s) is longer than the "
                            f"{usable_s:g} s a test can have in a function with timeout {aws.timeout_s} s: "
                            "such a test is stopped and reported interrupted")
    return warnings
