"""The local provider when its runner process misbehaves: hangs, crashes, or writes garbage; and its warm
runner processes, one per busy slot.

A stand-in "python" (a shell script written by the test) replaces the interpreter, so the
provider's own handling is what is tested.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from hypertest.core.unit_parse import parse_unit_result
from hypertest.providers import local
from hypertest.providers.local import LocalProvider, LocalProviderSettings
from tests.test_units import case


def fake_python(tmp_path: Path, body: str) -> str:
    script = tmp_path / "fake-python"
    script.write_text("#!/bin/bash\n" + body + "\n")
    script.chmod(0o755)
    return str(script)


def run_unit(tmp_path: Path, body: str, timeout_s: float = 30) -> dict:
    provider = LocalProvider(LocalProviderSettings(unit_timeout_s=timeout_s), python=fake_python(tmp_path, body))
    test = case("t")
    payload = {"runId": "r", "unitId": "u", "tests": [{"id": test.id}], "timeoutMs": int(timeout_s * 1000)}
    result = dict(provider.execute(payload))
    unit = type("U", (), {"id": "u", "tests": (test,)})()
    [record] = parse_unit_result(unit, result)["tests"]  # type: ignore[arg-type]
    return {"result": result, "record": record}


def test_a_crashing_runner_gives_error_records(tmp_path: Path) -> None:
    outcome = run_unit(tmp_path, 'echo "Segmentation fault" >&2; exit 139')
    assert outcome["record"]["status"] == "error"
    message = outcome["record"]["attempts"][0]["error"]["message"]
    assert "exited with code 139" in message and "Segmentation fault" in message


def test_garbage_output_gives_error_records(tmp_path: Path) -> None:
    # the arguments are: -m runner --serve-fd N; the request on N names the result file
    outcome = run_unit(tmp_path, 'read -r line <&"$4"\n'
                                 'result=$(printf %s "$line" | sed \'s/.*"result": "\\([^"]*\\)".*/\\1/\')\n'
                                 'printf "{not json" > "$result"\necho \'{"done": true}\' >&"$4"\nsleep 5')
    assert outcome["record"]["status"] == "error"
    assert "malformed JSON" in outcome["record"]["attempts"][0]["error"]["message"]


@pytest.mark.integration
def test_a_hanging_runner_is_stopped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local, "EXIT_GRACE_S", 1.0)
    started = time.monotonic()
    outcome = run_unit(tmp_path, "exec sleep 300", timeout_s=1)
    assert time.monotonic() - started < 15
    assert outcome["record"]["status"] == "error"
    assert "did not finish in time" in outcome["record"]["attempts"][0]["error"]["message"]
