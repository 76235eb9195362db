"""Hostile input to `hypertest report`: a results.json from anywhere, flags from a workflow file.

Every bad input ends in exit 2 with one screen naming the file and JSON path (or the flag), escaped,
never a traceback; nothing is written when one target is bad; and workflow commands from a hostile
but valid results.json are one line each, with the hostile text only inside their escaped data.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hypertest.github.results_file import MAX_RESULTS_BYTES
from tests.conftest import ROOT, CliResult, validate_run_result
from tests.github.fixtures import hostile_result, record

Cli = Callable[..., CliResult]
Build = Callable[[Path], list[str]]  # writes what a case needs below a folder; returns the args after `report`
HOSTILE_KEY = "x\n\x1b[2J::error::pwned\u2028##[error]pwned"


def results(change: Callable[[dict[str, Any]], object] | None = None) -> Build:
    """results.json: the valid hostile document, changed in place by change."""
    def build(folder: Path) -> list[str]:
        document = hostile_result()
        if change:
            change(document)
        (folder / "results.json").write_text(json.dumps(document), encoding="utf-8")
        return ["results.json"]
    return build


def text(data: bytes | str, name: str = "results.json") -> Build:
    """A results file with exactly these bytes."""
    def build(folder: Path) -> list[str]:
        (folder / name).write_bytes(data.encode() if isinstance(data, str) else data)
        return [name]
    return build


def flags(*args: str, prepare: Callable[[Path], object] = lambda folder: None) -> Build:
    """A valid results.json and these flags, after prepare(folder)."""
    def build(folder: Path) -> list[str]:
        prepare(folder)
        return [*results()(folder), *args]
    return build


def at(document: dict[str, Any], path: str) -> Any:
    """The value at a dotted path like tests.3.titlePath ('': the document)."""
    value: Any = document
    for part in path.split(".") if path else []:
        value = value[int(part)] if isinstance(value, list) else value[part]
    return value


def put(path: str, value: Any) -> Callable[[dict[str, Any]], object]:
    """Set the value at a dotted path."""
    parent, _, last = path.rpartition(".")
    return lambda document: at(document, parent).__setitem__(int(last) if last.isdigit() else last, value)


def drop(path: str) -> Callable[[dict[str, Any]], object]:
    """Remove the key at a dotted path."""
    parent, _, last = path.rpartition(".")
    return lambda document: at(document, parent).pop(last)


def nested(depth: int) -> dict[str, Any]:
    """{"a": {"a": ... {}}} depth levels deep."""
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"a": value}
    return value


def prepared(prepare: Callable[[Path], object], name: str = "results.json") -> Build:
    """results.json (or name) as prepare(folder) leaves it."""
    def build(folder: Path) -> list[str]:
        prepare(folder)
        return [name]
    return build


def make_folder(name: str) -> Callable[[Path], object]:
    """Make a folder of this name."""
    return lambda folder: (folder / name).mkdir()


def make_file(name: str) -> Callable[[Path], object]:
    """Make a file of this name."""
    return lambda folder: (folder / name).write_text("x")


def make_link(name: str, target: str) -> Callable[[Path], object]:
    """Make a symbolic link of this name to target (which need not exist)."""
    return lambda folder: (folder / name).symlink_to(folder / target)


def sparse(size: int) -> Build:
    """A results.json of size bytes that takes no room (and no time, unless someone reads it)."""
    def build(folder: Path) -> list[str]:
        with (folder / "results.json").open("wb") as handle:
            handle.truncate(size)
        return ["results.json"]
    return build


def many_tests_without_titles(folder: Path) -> list[str]:
    """results.json with 2000 tests that each lack titlePath."""
    def change(document: dict[str, Any]) -> None:
        document["tests"] = [{k: v for k, v in record(n, "t", "passed", "expected").items() if k != "titlePath"}
                             for n in range(2000)]
    return results(change)(folder)


REQUIRED = "is a required property"
# (name, what to build, what stderr must say)
CASES: list[tuple[str, Build, tuple[str, ...]]] = [
    # the file itself
    ("missing file", lambda folder: ["results.json"], ("results.json: no such file",)),
    ("a folder", prepared(make_folder("results.json")), ("results.json: is a folder",)),
    ("dangling link", prepared(make_link("results.json", "gone.json")), ("results.json: no such file",)),
    ("link loop", prepared(make_link("results.json", "results.json")),
     ("results.json: cannot read it (Too many levels of symbolic links)",)),
    ("line break in the name", lambda folder: ["res\nults\x1b[2J.json"], (r"res\x0aults\x1b[2J.json: no such file",)),
    ("too large", sparse(MAX_RESULTS_BYTES + 1), (f"results.json: {MAX_RESULTS_BYTES + 1} bytes; a results.json "
                                                 f"may have at most {MAX_RESULTS_BYTES} bytes",)),
    ("empty", text(""), ("results.json:1:1: not JSON: Expecting value",)),
    ("not UTF-8", text(b'{"runId": "\xff\xfe"}'), ("results.json: not UTF-8 text (byte 0xff at offset 11)",)),
    ("truncated JSON", text('{"runId": "r", "tests": ['), ("results.json:1:26: not JSON: Expecting value",)),
    ("nesting too deep for the parser", text("[" * 100_000), ("results.json: not a results.json: values nested too "
                                                              "deeply",)),
    ("NaN", results(put("durationMs", float("nan"))), ("results.json: not a results.json: NaN is not a JSON number",)),
    ("Infinity", text('{"durationMs": Infinity}'), ("results.json: not a results.json: Infinity is not",)),
    ("-Infinity", text('{"durationMs": -Infinity}'), ("results.json: not a results.json: -Infinity is not",)),
    ("float overflow", text('{"durationMs": 1e400}'), ("results.json: not a results.json: the number 1e400 is too",)),
    ("integer of 5000 digits", text('{"durationMs": ' + "9" * 5000 + "}"), ("results.json: not a results.json:",
                                                                            "5000 digits")),
    ("integer beyond 2^53", results(put("durationMs", 10 ** 400)), ("results.json: durationMs: the number 1000",
                                                                    "beyond ±2^53")),
    ("float beyond 2^53", results(put("tests.1.line", 1e300)), ("results.json: tests[1].line: the number 1e+300",)),
    ("lone surrogate", text('{"runId": "a\\ud800b"}'), ("results.json: runId: the string holds a lone UTF-16",)),
    ("lone surrogate in a key", text('{"tests": [{"\\udfff": 1}]}'), ("results.json: tests[0]: a key holds a lone",)),
    ("duplicate key", text('{"conclusion": "passed", "conclusion": "failed"}'),
     ('results.json: not a results.json: the key "conclusion" appears twice',)),
    ("nesting too deep", results(put("providerDetails", nested(100))),
     ("results.json: providerDetails.a.a.a", "nested more than 64 levels deep")),
    # the schema
    ("a list", text("[]"), ("results.json: (top level): expected object, got a list of 0 items",)),
    ("a string", text('"results"'), ('results.json: (top level): expected object, got "results"',)),
    ("test without titlePath", results(drop("tests.3.titlePath")),
     (f"results.json: tests[3].titlePath: 'titlePath' {REQUIRED}",)),
    ("stats without passed", results(drop("stats.passed")), (f"results.json: stats.passed: 'passed' {REQUIRED}",)),
    ("everything missing", text("{}"), ("results.json: not a hypertest results.json (13 problems)",
                                        f"results.json: runId: 'runId' {REQUIRED}",
                                        f"results.json: units: 'units' {REQUIRED}")),
    ("line as a string", results(put("tests.2.line", "12\n\x1b[31m")),
     (r'results.json: tests[2].line: expected integer, got "12\n\u001b[31m"',)),
    ("titlePath a string", results(put("tests.1.titlePath", "checkout")),
     ('results.json: tests[1].titlePath: expected array, got "checkout"',)),
    ("empty titlePath", results(put("tests.1.titlePath", [])),
     ("results.json: tests[1].titlePath: a list of 0 items; at least 1 item expected",)),
    ("no attempts", results(put("tests.0.attempts", [])), ("results.json: tests[0].attempts: a list of 0 items",)),
    ("error message a number", results(put("tests.1.attempts.0.error", {"message": 5})),
     ("results.json: tests[1].attempts[0].error.message: expected string, got 5",)),
    ("error a string", results(put("tests.1.attempts.0.error", "boom")),
     ('results.json: tests[1].attempts[0].error: expected null or object, got "boom"',)),
    ("empty test id", results(put("tests.0.id", "")),
     ('results.json: tests[0].id: ""; at least 1 character expected',)),
    ("exit code 2", results(put("exitCode", 2)), ("results.json: exitCode: 2 is not one of 0, 1, 3, 130",)),
    ("unknown conclusion", results(put("conclusion", "ok")), ('results.json: conclusion: "ok" is not one of',)),
    ("another schema version", results(put("schemaVersion", 2)), ("results.json: schemaVersion: must be 1, not 2",)),
    ("negative count", results(put("stats.failed", -1)), ("results.json: stats.failed: -1; the minimum is 0",)),
    ("hostile unknown key", results(put(HOSTILE_KEY, 1)),
     (r'results.json: (top level): unknown key "x\n\u001b[2J::error::pwned\u2028##[error]pwned"',)),
    ("hostile nested key", results(put("stats." + HOSTILE_KEY, "x")),
     (r"results.json: stats.x\x0a\x1b[2J::error::pwned\u2028##[error]pwned: expected integer",)),
    ("2000 problems", many_tests_without_titles,
     ("(2000 problems)", f"results.json: tests[0].titlePath: 'titlePath' {REQUIRED}", "… and 1980 more")),
    # the targets
    ("--summary into a missing folder", flags("--summary", "out/summary.md"),
     ("--summary out/summary.md: the folder", "out does not exist")),
    ("--junit names a folder", flags("--junit", "reports", prepare=make_folder("reports")),
     ("--junit reports: is a folder",)),
    ("--comment below a file", flags("--comment", "notes/comment.md", prepare=make_file("notes")),
     ("--comment notes/comment.md: ", "notes is not a folder")),
    ("--junit over the results", flags("--junit", "./results.json"),
     ("--junit ./results.json: that is the results file being read",)),
    ("two flags, one file", flags("--summary", "out.md", "--comment", "out.md"),
     ("--comment out.md: the same file as --summary",)),
    ("--summary a link loop", flags("--summary", "s.md", prepare=make_link("s.md", "s.md")),
     ("--summary s.md: a symbolic link to nothing",)),
    ("--junit name too long", flags("--junit", "j" * 300 + "/x.xml"), ("--junit jjj", "cannot write it (File name",)),
    ("--junit a full device", flags("--junit", "/dev/full"),
     ("--junit /dev/full: is a character device, not a regular file",)),
    ("--summary /dev/null", flags("--summary", "/dev/null"), ("--summary /dev/null: is a character device, not a "
                                                             "regular file",)),
    ("--comment a link to a device", flags("--comment", "c.md", prepare=lambda folder: (folder / "c.md").symlink_to(
        "/dev/zero")), ("--comment c.md: is a character device, not a regular file",)),
    ("--junit line break", flags("--junit", "missing\n::error::pwned/x.xml"),
     (r"--junit missing\x0a::error::pwned/x.xml: the folder",)),
]


def check_one_screen(result: CliResult) -> None:
    """Exit 2, no traceback, fewer than 30 lines, every line printable (nothing drives a terminal)."""
    assert result.code == 2, (result.out, result.err)
    assert "Traceback" not in result.out + result.err
    lines = (result.out + result.err).splitlines()
    assert 0 < len(lines) < 30, result.err
    assert all(line.isprintable() for line in lines), result.err
    assert not any(line.startswith(("::", "##[")) for line in lines), result.err


@pytest.mark.parametrize(("build", "expected"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_hostile_report_input_is_a_clear_error(cli: Cli, tmp_path: Path, build: Build,
                                               expected: tuple[str, ...]) -> None:
    result = cli("report", *build(tmp_path), cwd=tmp_path)
    check_one_screen(result)
    for part in expected:
        assert part in result.err, result.err
    assert result.out == ""


def test_the_corpus_is_large_and_its_base_document_valid(cli: Cli, tmp_path: Path) -> None:
    """The cases fail only by what they change: the untouched document renders every output."""
    assert len(CASES) >= 25
    validate_run_result(hostile_result())
    args = results()(tmp_path)
    result = cli("report", *args, "--summary", "s.md", "--comment", "c.md", "--junit", "j.xml", cwd=tmp_path)
    assert result.code == 1, result.err  # the run failed
    assert all((tmp_path / name).stat().st_size > 0 for name in ("s.md", "c.md", "j.xml"))


def test_no_target_is_written_when_one_is_bad(cli: Cli, tmp_path: Path) -> None:
    args = results()(tmp_path)
    result = cli("report", *args, "--summary", "s.md", "--comment", "c.md", "--junit", "missing/j.xml",
                 cwd=tmp_path)
    check_one_screen(result)
    assert not (tmp_path / "s.md").exists() and not (tmp_path / "c.md").exists()


def test_no_target_is_written_when_the_results_are_bad(cli: Cli, tmp_path: Path) -> None:
    args = results(drop("stats.passed"))(tmp_path)
    result = cli("report", *args, "--summary", "s.md", "--junit", "j.xml", cwd=tmp_path)
    check_one_screen(result)
    assert not (tmp_path / "s.md").exists() and not (tmp_path / "j.xml").exists()


@pytest.mark.parametrize("flag", ["--summary", "--junit"])
def test_a_fifo_target_is_refused_without_blocking(tmp_path: Path, flag: str) -> None:
    """A FIFO nobody reads would block the write forever: refused before anything is opened (in a
    subprocess with a timeout, so that a hang fails this test instead of stopping the suite)."""
    args = results()(tmp_path)
    os.mkfifo(tmp_path / "fifo")
    completed = subprocess.run([sys.executable, str(ROOT / "entrypoint.py"), "report", *args, flag, "fifo"],
                               cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False)
    check_one_screen(CliResult(completed.returncode, completed.stdout, completed.stderr))
    assert f"{flag} fifo: is a FIFO (named pipe), not a regular file" in completed.stderr, completed.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root may read and write any file")
@pytest.mark.parametrize("which", ["results", "target"])
def test_unreadable_results_and_unwritable_targets(cli: Cli, tmp_path: Path, which: str) -> None:
    args = results()(tmp_path)
    (tmp_path / "locked").mkdir(mode=0o500)
    if which == "results":
        (tmp_path / "results.json").chmod(0)
    result = cli("report", *args, "--junit", "locked/j.xml" if which == "target" else "j.xml", cwd=tmp_path)
    check_one_screen(result)
    expected = "results.json: cannot read it (Permission denied)" if which == "results" else \
        "--junit locked/j.xml: cannot create files in"
    assert expected in result.err, result.err


HOSTILE_TITLES = ["::error::pwned", "##[error]pwned", "a\r\n::warning::pwned\r##[warning]pwned", "</details>pwned",
                  "line\u2028sep\u2029para\x85next::notice::pwned", "x" * 100_000, ""]
STATUS = re.compile(r" \((failed|timedOut|interrupted|error|passed)\)$")


def hostile_valid(document: dict[str, Any]) -> None:
    """Failing and flaky tests whose titles, files, lines and messages try to start workflow commands."""
    for index, title in enumerate(HOSTILE_TITLES):
        bad = record(100 + index, title, "failed", "unexpected", message=f"{title}\n::error::pwned\r\n##[error]x")
        bad.update(titlePath=[title], file=f"a\n::error file=x::pwned{index}.ts", line=[0, 2 ** 53][index % 2])
        document["tests"].append(bad)
    flaky = record(200, "##[warning]pwned\n::error::pwned", "passed", "flaky", attempts=2, message="::error::x")
    document["tests"].append(flaky)
    document["stats"]["total"] = len(document["tests"])


def test_annotations_from_hostile_valid_results_are_one_command_per_line(cli: Cli, tmp_path: Path) -> None:
    args = results(hostile_valid)(tmp_path)
    validate_run_result(json.loads((tmp_path / "results.json").read_text(encoding="utf-8")))
    result = cli("report", *args, "--annotations", cwd=tmp_path)
    assert result.code == 1, result.err
    assert "\r" not in result.out
    lines = result.out.split("\n")
    assert lines[-1] == "" and len(lines) > 10
    for line in lines[:-1]:  # the runner ends a line at LF, CR or CRLF: each of these is one command
        command, _, data = line[2:].partition("::")
        name, _, properties = command.partition(" ")
        assert line.startswith("::") and name in ("error", "warning", "notice"), line[:200]
        assert not line.startswith(("::error::", "::warning::")), line[:200]
        if name == "notice":
            assert re.fullmatch(r"\d+ more (error|warning)s are in the job summary", data), line
            continue
        fields = dict(part.split("=", 1) for part in properties.split(","))
        assert sorted(fields) == ["col", "file", "line", "title"], line[:200]
        assert fields["line"].isdigit() and int(fields["line"]) >= 1
        assert STATUS.search(fields["title"].replace("%3A", ":")), line[:200]  # no `::` cut the title short
        if "pwned" in data:  # a hostile message's line breaks are escaped
            assert "%0A::error::pwned%0A##[error]x" in data or "%0A::error::x" in data, line[:200]
    assert "pwned" in result.out  # the hostile text did reach the commands, escaped
    assert not [line for line in re.split(r"\r\n|\r|\n", result.out) if line.lstrip().startswith("##[")]
