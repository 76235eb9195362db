"""Publishing never fails a run (issue 19, item 5): a file the runner's variables name that cannot be
written, an event that cannot be read, an API that cannot be used or answers oddly — each is one
`::warning::` naming the variable or the event field, the other publications still happen, in order
(outputs, summary, annotations, comment, check run), and the exit code stays the tests'.

Against the loopback fake of GitHub's REST API (tests/github/fake_api.py). A FIFO is only ever given
to a subprocess with a timeout: a blocking open() would hang it, not this test process.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

import hypertest.github.api as api_module
from hypertest.github.comment import MARKER
from hypertest.github.publication import GithubReporter
from tests.conftest import ROOT, CliResult
from tests.github.fake_api import FakeGitHub, fake_github
from tests.github.fixtures import hostile_result
from tests.loopback_http import serve


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with fake_github() as state:
        yield state


def green() -> dict[str, Any]:
    """A passed run with one flaky test: a warning annotation, and so a check run."""
    result = hostile_result()
    result["tests"] = [t for t in result["tests"] if t["outcome"] in ("expected", "flaky", "skipped")]
    result.update(conclusion="passed", exitCode=0)
    return result


def pr_event(**pull: Any) -> dict[str, Any]:
    """A pull_request event of PR 7 in octo/shop, its pull_request fields changed by pull."""
    return {"pull_request": {"number": 7, "head": {"repo": {"full_name": "octo/shop", "fork": False}},
                             "base": {"repo": {"full_name": "octo/shop"}}, **pull}}


def environ(url: str, tmp_path: Path, event: bytes | None = None, changes: dict[str, str] | None = None,
            **more: str) -> dict[str, str]:
    """A workflow step's variables (comment: always), the event file holding event, then changes."""
    path = tmp_path / "event.json"
    path.write_bytes(pr() if event is None else event)
    env = {"GITHUB_API_URL": url, "GITHUB_REPOSITORY": "octo/shop", "GITHUB_SHA": "0123abcd",
           "GITHUB_RUN_ID": "4242", "GITHUB_WORKSPACE": "/ws", "GITHUB_EVENT_NAME": "pull_request",
           "GITHUB_EVENT_PATH": str(path), "GITHUB_OUTPUT": str(tmp_path / "output"),
           "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"), "INPUT_GITHUB_TOKEN": "test-token",
           "INPUT_COMMENT": "always"}
    env.update({**(changes or {}), **more})
    return env


def publish(env: dict[str, str], result: dict[str, Any] | None = None) -> str:
    """What the github reporter prints at the end of the run (it must not raise)."""
    out = io.StringIO()
    GithubReporter(out, env).on_end(result or green())
    return out.getvalue()


def warnings(out: str) -> list[str]:
    """The `::warning::` lines (annotations are `::warning file=...`)."""
    return [line for line in out.splitlines() if line.startswith("::warning::")]


def written(tmp_path: Path, name: str) -> str:
    path = tmp_path / name
    return path.read_text(encoding="utf-8") if path.is_file() else ""


def _link(folder: Path) -> str:
    (folder / "link.md").symlink_to(folder / "other.md")
    return str(folder / "link.md")


def _below_a_file(folder: Path) -> str:
    (folder / "f").write_text("")
    return str(folder / "f" / "out")


# (case, variable, how to make the name it holds below tmp_path, what the warning says)
FILE_CASES: list[tuple[str, str, Callable[[Path], str], str]] = [
    ("summary in a missing folder", "GITHUB_STEP_SUMMARY", lambda t: str(t / "gone" / "s.md"),
     "the folder does not exist"),
    ("summary names a folder", "GITHUB_STEP_SUMMARY", str, "is a folder, not a regular file"),
    ("summary is /dev/null", "GITHUB_STEP_SUMMARY", lambda t: "/dev/null", "is a character device"),
    ("summary is /dev/full", "GITHUB_STEP_SUMMARY", lambda t: "/dev/full", "is a character device"),
    ("summary is a symbolic link", "GITHUB_STEP_SUMMARY",
     _link, "is a symbolic link, not a regular file"),
    ("output in a missing folder", "GITHUB_OUTPUT", lambda t: str(t / "gone" / "out"), "the folder does not exist"),
    ("output names a folder", "GITHUB_OUTPUT", str, "is a folder"),
    ("output below a file", "GITHUB_OUTPUT", _below_a_file, "a part of the path is not a folder"),
    ("output unwritable", "GITHUB_OUTPUT", lambda t: "/proc/version", ""),
    ("output is /dev/full", "GITHUB_OUTPUT", lambda t: "/dev/full", "is a character device"),
]


@pytest.mark.parametrize(("variable", "make", "says"), [c[1:] for c in FILE_CASES], ids=[c[0] for c in FILE_CASES])
def test_a_runner_file_that_cannot_be_written_is_one_warning(github: FakeGitHub, tmp_path: Path, variable: str,
                                                             make: Callable[[Path], str], says: str) -> None:
    name = make(tmp_path)
    out = publish(environ(github.url, tmp_path, changes={variable: name}))
    [warning] = warnings(out)
    assert warning.startswith(f"::warning::{variable}={name}: {says}"), warning
    other = "summary.md" if variable == "GITHUB_OUTPUT" else "output"
    assert written(tmp_path, other), f"{other} was not written"  # the other file still is
    assert "conclusion<<" in written(tmp_path, "output") or variable == "GITHUB_OUTPUT"
    assert github.comments[7][0]["body"].startswith(MARKER) and len(github.check_runs) == 1
    assert not (tmp_path / "other.md").exists()  # a link is not written through


FIFO_SCRIPT = """
import json, os, sys
from hypertest.github.publication import GithubReporter
GithubReporter(sys.stdout, os.environ).on_end(json.loads(sys.stdin.read()))
print("published")
"""


@pytest.mark.parametrize("variable", ["GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT", "GITHUB_EVENT_PATH"])
def test_a_fifo_nobody_reads_is_refused_without_blocking(tmp_path: Path, variable: str) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    env = {**{k: v for k, v in environ("http://127.0.0.1:9", tmp_path).items() if k != "INPUT_GITHUB_TOKEN"},
           variable: str(fifo), "PYTHONPATH": str(ROOT)}
    start = time.monotonic()
    completed = subprocess.run([sys.executable, "-c", FIFO_SCRIPT], input=json.dumps(green()), env=env, cwd=ROOT,
                               capture_output=True, text=True, timeout=60, check=False)
    assert completed.returncode == 0 and "Traceback" not in completed.stderr, completed.stderr
    assert completed.stdout.rstrip().endswith("published") and time.monotonic() - start < 30
    [warning] = warnings(completed.stdout)
    assert warning.startswith(f"::warning::{variable}={fifo}: is a FIFO (named pipe), not a regular file"), warning
    assert written(tmp_path, "summary.md" if variable != "GITHUB_STEP_SUMMARY" else "output")


def pr(**pull: Any) -> bytes:
    """The pull_request event's bytes, its pull_request fields changed by pull."""
    return json.dumps(pr_event(**pull)).encode()


def doc(value: Any) -> bytes:
    return json.dumps(value).encode()


def nested(depth: int) -> bytes:
    return b'{"pull_request": ' + b"[" * depth + b"]" * depth + b"}"


# (case, the event file's bytes, GITHUB_EVENT_NAME, what the warning says)
EVENT_CASES: list[tuple[str, bytes, str, str]] = [
    ("malformed JSON", b'{"pull_request": {"number": 7', "pull_request", "not JSON (Expecting"),
    ("a JSON array", b"[1, 2]", "pull_request", "the event is a list, not a JSON object"),
    ("a JSON string", b'"event"', "pull_request", 'the event is the string "event", not a JSON object'),
    ("not UTF-8", b'{"pull_request": {"number": 7, "title": "\xff"}}', "pull_request",
     "not UTF-8 text (byte 0xff at offset 41)"),
    ("empty", b"", "pull_request", "not JSON"),
    ("nested too deeply", nested(100_000), "pull_request", "nested too deeply"),
    ("a 5000-digit number", b'{"pull_request": {"number": ' + b"9" * 5000 + b"}}", "pull_request", "not an event"),
    ("number a string", pr(number="7"), "pull_request",
     'pull_request.number is the string "7", not a pull-request number'),
    ("number missing", doc({"pull_request": {"head": {}}}), "pull_request",
     "pull_request.number is null or missing"),
    ("number 0", pr(number=0), "pull_request", "pull_request.number is the number 0"),
    ("number negative", pr(number=-3), "pull_request", "pull_request.number is the number"),
    ("number a float", pr(number=7.0), "pull_request", "the number 7.0, not a pull-request"),
    ("number a boolean", pr(number=True), "pull_request", "pull_request.number is the boolean"),
    ("number huge", pr(number=10 ** 30), "pull_request", "pull_request.number is the number"),
    ("pull_request null", doc({"pull_request": None}), "pull_request", "the field pull_request is null"),
    ("pull_request missing", doc({"action": "opened"}), "pull_request_target",
     "the field pull_request is null or missing"),
    ("pull_request a string", doc({"pull_request": "7"}), "push", "the field pull_request is the string"),
    ("head a string", pr(head="octo:main"), "pull_request", "pull_request.head is the string"),
    ("head.repo a list", pr(head={"repo": []}), "pull_request", "pull_request.head.repo is a list"),
    ("full_name a number", pr(base={"repo": {"full_name": 5}}), "pull_request",
     "pull_request.base.repo.full_name is the number 5"),
    ("fork a string", pr(head={"repo": {"fork": "no"}}), "pull_request",
     "pull_request.head.repo.fork is the string"),
]


@pytest.mark.parametrize(("data", "event_name", "says"), [c[1:] for c in EVENT_CASES], ids=[c[0] for c in EVENT_CASES])
def test_an_event_that_cannot_be_read_is_one_warning_naming_the_field(github: FakeGitHub, tmp_path: Path,
                                                                      data: bytes, event_name: str, says: str) -> None:
    out = publish(environ(github.url, tmp_path, data, GITHUB_EVENT_NAME=event_name))
    [warning] = warnings(out)
    assert warning.startswith(f"::warning::GITHUB_EVENT_PATH={tmp_path / 'event.json'}: "), warning
    assert says in warning and warning.endswith("; no pull-request comment"), warning
    assert not github.comments  # no comment, but everything else
    assert len(github.check_runs) == 1 and "conclusion<<" in written(tmp_path, "output")
    assert written(tmp_path, "summary.md").startswith("## ")


@pytest.mark.parametrize("name", ["missing", "folder", "too large"])
def test_an_event_file_that_is_missing_a_folder_or_too_large_is_one_warning(github: FakeGitHub, tmp_path: Path,
                                                                           name: str) -> None:
    path = tmp_path / "event-file"
    if name == "folder":
        path.mkdir()
    elif name == "too large":
        with path.open("wb") as handle:
            handle.truncate(65 * 1024 * 1024)  # sparse: no room taken, and never read
    out = publish(environ(github.url, tmp_path, GITHUB_EVENT_PATH=str(path)))
    [warning] = warnings(out)
    says = {"missing": "no such file", "folder": "is a folder, not a regular file", "too large": "68157440 bytes"}
    assert warning.startswith(f"::warning::GITHUB_EVENT_PATH={path}: {says[name]}"), warning
    assert not github.comments and len(github.check_runs) == 1


@pytest.mark.parametrize("url", ["ftp://x", "http://example.com", "https://[::1", "https://x:99999",
                                 "https://u:p@api.github.com", "file:///etc/passwd", "https://api.github.com/\u202e"])
def test_an_api_url_that_cannot_carry_the_token_is_one_warning(tmp_path: Path, url: str) -> None:
    out = publish(environ(url, tmp_path))
    [warning] = warnings(out)
    assert warning.startswith("::warning::GITHUB_API_URL="), warning
    assert warning.endswith("; no pull-request comment or check run"), warning
    assert "conclusion<<" in written(tmp_path, "output") and written(tmp_path, "summary.md")


def test_a_repository_that_is_not_owner_slash_name_is_one_warning(github: FakeGitHub, tmp_path: Path) -> None:
    out = publish(environ(github.url, tmp_path, GITHUB_REPOSITORY="octo/shop x?y=1"))
    [warning] = warnings(out)
    assert warning.startswith("::warning::GITHUB_REPOSITORY=octo/shop x?y=1: not owner/name"), warning
    assert not github.requests and written(tmp_path, "summary.md")


def test_a_token_no_http_header_can_carry_is_one_warning(github: FakeGitHub, tmp_path: Path) -> None:
    out = publish(environ(github.url, tmp_path, INPUT_GITHUB_TOKEN="t\u00f6k\u20acn", INPUT_ANNOTATIONS="false"))
    [warning] = warnings(out)
    assert warning.startswith("::warning::the pull-request comment failed: GitHub API 0: the request could not"), \
        warning
    assert "\u20ac" not in out and written(tmp_path, "output")


class _Odd(BaseHTTPRequestHandler):
    """An API that answers every request the same odd way (server.state is the mode)."""

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _answer(self) -> None:
        mode = self.server.state  # type: ignore[attr-defined]
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        bodies = {"not JSON": b"<html>", "comments an object": b'{"message": "x"}', "no id": b"[{\"body\": \"" +
                  MARKER.encode() + b'"}]', "id a string": b'{"id": "1"}'}
        try:
            if mode == "garbage":
                self.wfile.write(b"HELLO\r\n\r\n")
                return
            if mode == "trickle":
                self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
                for _ in range(300):  # 30 s at most, a byte at a time
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(0.1)
                return
            self.send_response(201 if self.command == "POST" else 200)
            self.send_header("Content-Length", str(len(bodies[mode])))
            self.end_headers()
            self.wfile.write(bodies[mode])
        except OSError:
            return

    do_GET = do_POST = do_PATCH = _answer


ODD = ["not JSON", "comments an object", "no id", "id a string", "garbage", "trickle"]


@pytest.mark.parametrize("publication", ["comment", "check run"])
@pytest.mark.parametrize("mode", ODD)
def test_an_api_that_answers_oddly_is_one_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str,
                                                  publication: str) -> None:
    monkeypatch.setattr(api_module, "BUDGET_S", 1.5)
    only = {"INPUT_ANNOTATIONS": "false"} if publication == "comment" else {"INPUT_COMMENT": "off"}
    with serve(_Odd, mode) as url:
        start = time.monotonic()
        out = publish(environ(url, tmp_path, changes=only))
        assert time.monotonic() - start < 20
    [warning] = warnings(out)
    what = "the pull-request comment" if publication == "comment" else "the check run with every annotation"
    assert warning.startswith(f"::warning::{what} failed: GitHub API "), warning
    assert "conclusion<<" in written(tmp_path, "output") and written(tmp_path, "summary.md")


def test_a_bug_in_one_step_is_one_warning_and_the_others_still_happen(github: FakeGitHub, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any) -> str:
        raise KeyError("stats")

    monkeypatch.setattr("hypertest.github.publication.render_comment", broken)
    out = publish(environ(github.url, tmp_path))
    [warning] = warnings(out)
    assert warning.startswith("::warning::the pull-request comment skipped: internal error (a bug in hypertest"), \
        warning
    assert "KeyError" in warning and "Traceback" not in out
    assert len(github.check_runs) == 1 and written(tmp_path, "output") and written(tmp_path, "summary.md")


def test_outputs_are_written_first(github: FakeGitHub, tmp_path: Path) -> None:
    """Outputs, then the summary, then the comment and the check run: a later step finds the earlier done."""
    seen: list[tuple[str, bool, bool]] = []
    original = github.new_id

    def new_id() -> int:
        seen.append(("api", bool(written(tmp_path, "output")), bool(written(tmp_path, "summary.md"))))
        return original()

    github.new_id = new_id  # type: ignore[method-assign]
    publish(environ(github.url, tmp_path))
    assert seen and all(outputs and summary for _, outputs, summary in seen)
    assert github.requests[0][1].endswith("/issues/7/comments") and github.requests[-1][1].endswith("/check-runs")


def _fake_run(result: dict[str, Any]) -> Callable[..., Any]:
    from hypertest.core.invoke import InvokeState
    from hypertest.errors import ExitCode

    return lambda settings, **kwargs: InvokeState(run_id="r", result=result, exit_code=ExitCode(result["exitCode"]))


@pytest.mark.parametrize(("conclusion", "fault", "event", "variable"), [
    ("passed", {"GITHUB_STEP_SUMMARY": "/nonexistent/summary.md"}, None, "GITHUB_STEP_SUMMARY"),
    ("passed", {"GITHUB_API_URL": "ftp://x", "INPUT_GITHUB_TOKEN": "test-token"}, None, "GITHUB_API_URL"),
    ("failed", {"GITHUB_OUTPUT": "/"}, None, "GITHUB_OUTPUT"),
    ("passed", {}, b"[1]", "GITHUB_EVENT_PATH"),
    ("failed", {}, b'{"pull_request": {"number": "7"}}', "GITHUB_EVENT_PATH"),
], ids=["summary", "api url", "outputs", "event green", "event red"])
def test_a_run_step_keeps_the_tests_exit_code(cli: Callable[..., CliResult], tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch, conclusion: str,
                                              fault: dict[str, str], event: bytes | None, variable: str) -> None:
    """`hypertest invoke` with `reporters: [github]` in a workflow's run: step (the run itself faked)."""
    result = green() if conclusion == "passed" else hostile_result()
    monkeypatch.setattr("hypertest.core.invoke.invoke", _fake_run(result))
    (tmp_path / "hypertest.yml").write_text("reporters: [github]\n")
    (tmp_path / "playwright.config.ts").write_text("export default {};\n")
    for key in [k for k in os.environ if k.startswith(("GITHUB_", "INPUT_"))]:
        monkeypatch.delenv(key)
    env = environ("http://127.0.0.1:9", tmp_path, event, INPUT_COMMENT="failures", INPUT_GITHUB_TOKEN="",
                  INPUT_ANNOTATIONS="false", GITHUB_ACTIONS="true")
    for key, value in {**env, **fault}.items():
        monkeypatch.setenv(key, value)
    outcome = cli("invoke", cwd=tmp_path)
    assert outcome.code == result["exitCode"], outcome.out + outcome.err
    assert "internal error" not in outcome.err and "Traceback" not in outcome.err
    [warning] = warnings(outcome.out)
    assert warning.startswith(f"::warning::{variable}="), warning
    assert variable == "GITHUB_OUTPUT" or "conclusion<<" in written(tmp_path, "output")


def test_a_push_event_without_a_pull_request_is_no_warning(github: FakeGitHub, tmp_path: Path) -> None:
    """Not a fault: a push has no pull request (null or absent), and nothing is commented."""
    for event in ({"pull_request": None}, {"ref": "refs/heads/main"}):
        out = publish(environ(github.url, tmp_path, json.dumps(event).encode(), GITHUB_EVENT_NAME="push"))
        assert not warnings(out) and not github.comments


def test_the_action_keeps_the_tests_exit_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The action publishes after its protected region through the same reporter (the run itself faked)."""
    from hypertest.github.action import run_action

    monkeypatch.setattr("hypertest.core.invoke.invoke", _fake_run(green()))
    monkeypatch.chdir(tmp_path)  # the action changes into its working directory
    (tmp_path / "hypertest.yml").write_text("reporters: [console]\n")
    (tmp_path / "playwright.config.ts").write_text("export default {};\n")
    env = environ("ftp://x", tmp_path, b'{"pull_request": {"number": 0}}', GITHUB_WORKSPACE=str(tmp_path),
                  GITHUB_STEP_SUMMARY=str(tmp_path / "gone" / "summary.md"), GITHUB_ACTIONS="true")
    out = io.StringIO()
    assert run_action(env, out) == 0, out.getvalue()
    found = warnings(out.getvalue())
    assert [w.split("=", 1)[0] for w in found] == ["::warning::GITHUB_STEP_SUMMARY", "::warning::GITHUB_EVENT_PATH",
                                                   "::warning::GITHUB_API_URL"], found
    assert "conclusion<<" in written(tmp_path, "output") and "internal error" not in out.getvalue()


def test_a_warning_quotes_no_secret(github: FakeGitHub, tmp_path: Path) -> None:
    """A path or URL in a warning may hold a secret: the withheld values and URL credentials are ***."""
    secret = "ghs_canary0123456789abcdef"
    out = publish(environ("https://user:hunter2-password@api.github.com/?access_token=tok3n", tmp_path,
                          GITHUB_TOKEN=secret, GITHUB_STEP_SUMMARY=str(tmp_path / secret / "summary.md")))
    found = warnings(out)
    assert len(found) == 2 and secret not in out and "hunter2" not in out and "tok3n" not in out, found
    assert found[0].startswith(f"::warning::GITHUB_STEP_SUMMARY={tmp_path}/***/summary.md: the folder does not")
    assert found[1].startswith("::warning::GITHUB_API_URL=https://***@api.github.com/?***: "), found[1]
