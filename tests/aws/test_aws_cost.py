"""The AWS provider estimates what a run cost in Lambda from its own invocations and records it in
providerDetails.estimatedCost; the summary shows that estimate without knowing which provider made it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from hypertest.github.markdown import facts_table
from hypertest.providers.aws.cost import LABEL, lambda_cost_usd
from hypertest.providers.aws.invoker import InvokeResult
from hypertest.providers.aws.provider import AwsProvider
from hypertest.providers.aws.settings import aws_settings


class FakeClients:
    """Stands in for AwsClients: only the region and a Lambda client object are read here."""

    region = "us-east-1"

    def client(self, name: str) -> object:
        return object()


class FakeInvoker:
    """Returns the queued results, one per Invoke, the first ones a function error when asked."""

    def __init__(self, results: list[Mapping[str, Any]], crashes: int = 0) -> None:
        self.results, self.crashes = results, crashes

    def invoke(self, payload: Mapping[str, Any]) -> InvokeResult:
        if self.crashes:
            self.crashes -= 1
            return InvokeResult({"status": "error", "error": "crashed", "durationMs": 0}, 1, 0, True)
        return InvokeResult(self.results.pop(0), 1, 0, False)


def provider(memory: int = 4096, architecture: str = "arm64", **options: Any) -> AwsProvider:
    settings = aws_settings({"bucket": "b", "functionName": "f", "memory": memory,
                             "architecture": architecture, **options}, "hypertest.yml")
    return AwsProvider(settings, 2, clients=FakeClients())  # type: ignore[arg-type]


def test_the_estimate_counts_every_invocation_and_what_its_unit_ran() -> None:
    aws = provider(functionErrorRetries=1)
    aws.invoker = FakeInvoker([{"status": "ok", "durationMs": 1500}, {"status": "ok", "durationMs": 2500}],
                              crashes=1)  # type: ignore[assignment]
    for _ in range(2):
        aws.execute({"unitId": "u"})
    details = aws.details()
    expected = lambda_cost_usd(memory_mb=4096, architecture="arm64", duration_ms=4000, invocations=3)
    assert details["estimatedCost"] == {"label": LABEL, "usd": pytest.approx(expected)}
    assert expected == pytest.approx(4 * 4 * 0.0000133334 + 3 * 0.0000002)
    assert f"| {LABEL} |" in facts_table(run_result("aws", details))


def test_a_run_with_no_unit_costs_nothing_and_x86_is_priced_as_such() -> None:
    aws = provider(memory=1024, architecture="x86_64")
    assert aws.details()["estimatedCost"]["usd"] == 0
    assert lambda_cost_usd(memory_mb=1024, architecture="x86_64", duration_ms=1000, invocations=0) \
        == pytest.approx(0.0000166667)


def run_result(provider_name: str, details: Mapping[str, Any]) -> dict[str, Any]:
    from tests.github.fixtures import hostile_result

    return {**hostile_result(), "provider": provider_name, "providerDetails": dict(details)}


@pytest.mark.parametrize(("provider_name", "details", "cell"), [
    ("elsewhere", {"estimatedCost": {"label": "Est. cloud cost", "usd": 1.23456}}, "| Est. cloud cost |"),
    ("aws", {"memoryMb": 4096, "architecture": "arm64"}, None),  # no estimate recorded: no column
    ("aws", {"estimatedCost": {"label": "x", "usd": float("nan")}}, None),
    ("aws", {"estimatedCost": {"label": "x", "usd": True}}, None),
    ("aws", {"estimatedCost": {"label": "", "usd": 1}}, None),
    ("aws", {"estimatedCost": "1 dollar"}, None),
])
def test_the_summary_shows_the_recorded_estimate_whatever_the_provider(
        provider_name: str, details: dict[str, Any], cell: str | None) -> None:
    table = facts_table(run_result(provider_name, details))
    if cell is None:
        assert "cost" not in table
    else:
        assert cell in table and "| $1.2346 |" in table
