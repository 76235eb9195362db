"""The repository's workflows (.github/workflows), action.yml and the example workflows: zizmor finds nothing in them,
every action is pinned by commit, every job has its own minimal permissions and no `run:` expands a template; the
release workflow's triggers, platforms and permissions, and its two shell steps run as GitHub runs them (the version
read from the tag, the release commit and the moved major tag, against a local origin); the lock files pin with
hashes everything pyproject.toml asks for, and the action image's pins agree with the development lock."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT

WORKFLOWS = ROOT / ".github" / "workflows"
EXAMPLES = ROOT / "examples" / "workflows"
ALL_WORKFLOWS = sorted(WORKFLOWS.glob("*.yml")) + sorted(EXAMPLES.glob("*.yml"))
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$")
PLACEHOLDER = "my-org/hypertest-action@v1"  # the examples' stand-in for the user's copy of this action


def load(path: Path) -> dict[Any, Any]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(document, dict), path
    return document


def triggers(document: dict[Any, Any]) -> dict[str, Any]:
    found = document["on"] if "on" in document else document[True]  # YAML 1.1 reads a bare `on` as true
    assert isinstance(found, dict)
    return found


def step_named(job: dict[str, Any], name: str) -> dict[str, Any]:
    return next(step for step in job["steps"] if step.get("name") == name)


def uses_lines(path: Path) -> list[str]:
    return [line.split("uses:", 1)[1].strip() for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip().removeprefix("- ").startswith("uses:")]


# Workflows, as GitHub reads them


def test_every_action_is_pinned_to_a_commit_with_its_version() -> None:
    for path in ALL_WORKFLOWS:
        for used in uses_lines(path):
            if used.startswith(PLACEHOLDER):
                assert "# zizmor: ignore[unpinned-uses]" in used, path
                continue
            assert PINNED.match(used), f"{path.name}: {used} is not pinned as owner/name@<commit> # vX.Y.Z"


def test_the_same_version_of_an_action_has_the_same_commit_everywhere() -> None:
    commits: dict[tuple[str, str], set[str]] = {}
    for path in ALL_WORKFLOWS:
        for used in uses_lines(path):
            if PINNED.match(used):
                action, rest = used.split("@", 1)
                commit, version = rest.split(" # ")
                commits.setdefault((action.split("/")[0] + "/" + action.split("/")[1], version), set()).add(commit)
    assert commits
    assert all(len(found) == 1 for found in commits.values()), commits


def test_every_job_has_its_own_minimal_permissions() -> None:
    for path in ALL_WORKFLOWS:
        document = load(path)
        assert document["permissions"] == {}, f"{path.name}: the workflow grants nothing, each job what it needs"
        for name, job in document["jobs"].items():
            assert isinstance(job.get("permissions"), dict), f"{path.name}: job {name} says its permissions"
            assert "write-all" not in str(job["permissions"]), path
            assert set(job["permissions"].values()) <= {"read", "write"}, path


def test_no_run_step_expands_a_template() -> None:
    for path in ALL_WORKFLOWS:
        for name, job in load(path)["jobs"].items():
            for step in job["steps"]:
                assert "${{" not in step.get("run", ""), f"{path.name}: job {name} expands a template in run:"


def test_every_checkout_drops_its_credentials_but_the_one_that_pushes_a_tag() -> None:
    for path in ALL_WORKFLOWS:
        for name, job in load(path)["jobs"].items():
            for step in job["steps"]:
                if str(step.get("uses", "")).startswith("actions/checkout@"):
                    pushes = path.name == "release.yml" and name == "action"
                    assert step["with"]["persist-credentials"] is pushes, f"{path.name}: job {name}"


def test_ci_runs_the_test_command_on_pushes_and_pull_requests() -> None:
    document = load(WORKFLOWS / "ci.yml")
    assert set(triggers(document)) == {"push", "pull_request"}
    (job,) = document["jobs"].values()
    assert job["permissions"] == {"contents": "read"}
    assert any("bash .ci/run" in step.get("run", "") for step in job["steps"])
    assert "scripts/test.sh" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_the_release_runs_on_version_tags_only() -> None:
    on = triggers(load(WORKFLOWS / "release.yml"))
    assert on == {"push": {"tags": ["v*.*.*"]}}


def test_the_release_builds_both_platforms_and_pushes_the_version_and_major_tags() -> None:
    document = load(WORKFLOWS / "release.yml")
    image = document["jobs"]["image"]
    (build,) = [step for step in image["steps"] if str(step.get("uses", "")).startswith("docker/build-push-action@")]
    assert set(build["with"]["platforms"].split(",")) == {"linux/amd64", "linux/arm64"}
    assert build["with"]["push"] is True
    assert build["with"]["file"] == "Dockerfile"
    tags = build["with"]["tags"].splitlines()
    assert tags == ["${{ steps.version.outputs.image }}:${{ steps.version.outputs.version }}",
                    "${{ steps.version.outputs.image }}:${{ steps.version.outputs.major }}"]
    uses = [str(step.get("uses", "")).split("@")[0] for step in image["steps"]]
    assert {"docker/setup-qemu-action", "docker/setup-buildx-action", "docker/login-action"} <= set(uses)
    # The registry is a repository variable: no registry's host name is written in the repository.
    assert document["env"] == {"REGISTRY": "${{ vars.REGISTRY }}"}
    (login,) = [step for step in image["steps"] if str(step.get("uses", "")).startswith("docker/login-action@")]
    assert login["with"]["registry"] == "${{ env.REGISTRY }}"
    assert login["with"]["password"] == "${{ secrets.GITHUB_TOKEN }}"


def test_the_release_permissions_are_a_minimal_set() -> None:
    document = load(WORKFLOWS / "release.yml")
    assert document["permissions"] == {}
    assert document["jobs"]["image"]["permissions"] == {"contents": "read", "packages": "write"}
    assert document["jobs"]["action"]["permissions"] == {"contents": "write"}
    assert document["jobs"]["action"]["needs"] == "image"  # the tag moves only once the image is pushed
    assert "secrets." not in json.dumps(document["jobs"]["action"])
    for job in document["jobs"].values():
        for step in job["steps"]:
            assert "secrets." not in json.dumps(step.get("env", {})), "no secret reaches a shell"



def test_the_documented_example_is_the_example_workflow() -> None:
    document = (ROOT / "docs" / "action.md").read_text(encoding="utf-8")
    example = (EXAMPLES / "invoke-pr.yml").read_text(encoding="utf-8")
    assert "```yaml\n" + example[example.index("name: e2e\n"):] + "```\n" in document


# The release's shell steps, run as GitHub runs a `run:` step


def bash_step(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {"PATH": os.environ["PATH"], "HOME": str(cwd.parent / "home"), "GIT_CONFIG_NOSYSTEM": "1",
            "LANG": "C.UTF-8"}
    (cwd.parent / "home").mkdir(exist_ok=True)
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script], cwd=cwd,
                          env={**base, **env}, capture_output=True, text=True, timeout=60, check=False)


def release_step(job: str, name: str) -> str:
    script = step_named(load(WORKFLOWS / "release.yml")["jobs"][job], name)["run"]
    assert isinstance(script, str)
    return script


@pytest.mark.integration
@pytest.mark.parametrize(("tag", "registry", "repository", "expected"), [
    ("v1.2.3", "registry.test", "Some-Org/HyperTest", {"version": "1.2.3", "major": "1",
                                                       "image": "registry.test/some-org/hypertest"}),
    ("v12.0.10", "registry.test:5000", "o/r", {"version": "12.0.10", "major": "12", "image": "registry.test:5000/o/r"}),
    ("v1.2.3-rc.1", "registry.test", "o/r", None),
    ("v1.2.3.4", "registry.test", "o/r", None),
    ("v1.2.3", "", "o/r", None),  # the repository variable is not set
    ("v1.2.3", "registry.test/evil path", "o/r", None),
])
def test_the_release_reads_the_version_from_the_tag(tmp_path: Path, tag: str, registry: str, repository: str,
                                                    expected: dict[str, str] | None) -> None:
    work = tmp_path / "work"
    work.mkdir()
    output = tmp_path / "output"
    output.write_text("")
    done = bash_step(release_step("image", "version from the tag"), work,
                     {"REF_NAME": tag, "REPOSITORY": repository, "REGISTRY": registry, "GITHUB_OUTPUT": str(output)})
    if expected is None:
        assert done.returncode == 1, done
        assert output.read_text() == ""
        return
    assert done.returncode == 0, done.stderr
    assert dict(line.split("=", 1) for line in output.read_text().splitlines()) == expected


def git(*args: str, cwd: Path) -> str:
    who = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.invalid"}
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(cwd), **who}
    return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True).stdout.strip()


@pytest.mark.integration
@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_the_release_commit_points_the_action_at_the_image_and_moves_the_major_tag(tmp_path: Path) -> None:
    # origin: the default branch with action.yml as it is, an old v1, and the new version's tag
    origin, source, checkout = tmp_path / "origin.git", tmp_path / "source", tmp_path / "checkout"
    source.mkdir()
    git("init", "-q", "-b", "main", cwd=source)
    (source / "action.yml").write_text((ROOT / "action.yml").read_text(encoding="utf-8"), encoding="utf-8")
    git("add", "action.yml", cwd=source)
    git("commit", "-q", "-m", "older", cwd=source)
    git("tag", "v1", cwd=source)
    (source / "README").write_text("newer\n")
    git("add", "README", cwd=source)
    git("commit", "-q", "-m", "newer", cwd=source)
    git("tag", "v1.2.3", cwd=source)
    tagged = git("rev-parse", "HEAD", cwd=source)
    git("clone", "-q", "--bare", str(source), str(origin), cwd=tmp_path)
    git("clone", "-q", str(origin), str(checkout), cwd=tmp_path)
    git("checkout", "-q", "--detach", "v1.2.3", cwd=checkout)  # as actions/checkout leaves a tag's push
    summary = tmp_path / "summary.md"
    done = bash_step(release_step("action", "release commit and major tag"), checkout,
                     {"IMAGE": "registry.test/o/r", "VERSION": "1.2.3", "MAJOR": "1",
                      "GITHUB_STEP_SUMMARY": str(summary)})
    assert done.returncode == 0, done.stderr
    moved = git("rev-parse", "v1^{commit}", cwd=origin)
    assert git("rev-parse", f"{moved}^", cwd=origin) == tagged  # the release commit sits on the version's commit
    assert git("rev-parse", "v1.2.3^{commit}", cwd=origin) == tagged  # the version tag itself stays
    assert git("rev-parse", "main", cwd=origin) == tagged  # the default branch keeps building the Dockerfile
    released = yaml.safe_load(git("show", f"{moved}:action.yml", cwd=origin))
    assert released["runs"] == {"using": "docker", "image": "docker://registry.test/o/r:1.2.3"}
    assert git("diff", "--stat", tagged, moved, cwd=origin).splitlines()[-1].strip().startswith("1 file changed, 1")
    assert moved in summary.read_text()
    assert yaml.safe_load(git("show", "main:action.yml", cwd=origin))["runs"]["image"] == "Dockerfile"


@pytest.mark.integration
@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_the_release_commit_refuses_an_action_that_no_longer_builds_the_dockerfile(tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    git("init", "-q", cwd=checkout)
    (checkout / "action.yml").write_text("runs:\n  using: docker\n  image: docker://elsewhere/x:1\n")
    git("add", "action.yml", cwd=checkout)
    git("commit", "-q", "-m", "x", cwd=checkout)
    done = bash_step(release_step("action", "release commit and major tag"), checkout,
                     {"IMAGE": "registry.test/o/r", "VERSION": "1.2.3", "MAJOR": "1",
                      "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md")})
    assert done.returncode == 1
    assert "is not 'Dockerfile'" in done.stderr


# zizmor, as the test command runs it


def zizmor() -> str:
    beside = Path(sys.executable).parent / "zizmor"
    found = str(beside) if beside.exists() else shutil.which("zizmor")
    assert found, "zizmor is a development tool (pyproject's dev extra): run scripts/bootstrap.sh"
    return found


@pytest.mark.integration
def test_zizmor_finds_nothing_in_the_workflows_the_action_and_the_examples() -> None:
    examples = [str(path.relative_to(ROOT)) for path in sorted(EXAMPLES.glob("*.yml"))]
    inputs = [".github/workflows", "action.yml", *examples]
    done = subprocess.run([zizmor(), "--offline", "--no-progress", "--format", "json", *inputs], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout) == []
    for path in ALL_WORKFLOWS:  # each finding that stays is ignored on its line with its reason
        for line in path.read_text(encoding="utf-8").splitlines():
            if "zizmor: ignore[" in line:
                assert re.search(r"zizmor: ignore\[[a-z-]+\] \S.{10,}", line), f"{path.name}: {line.strip()}"


@pytest.mark.integration
def test_zizmor_would_find_an_unpinned_action(tmp_path: Path) -> None:
    workflow = tmp_path / "w.yml"
    workflow.write_text("name: w\non: push\npermissions: {}\njobs:\n  j:\n    runs-on: ubuntu-latest\n"
                        "    permissions: {}\n    steps:\n      - uses: actions/checkout@v4\n"
                        "        with:\n          persist-credentials: false\n")
    done = subprocess.run([zizmor(), "--offline", "--no-progress", "--format", "json", str(workflow)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode != 0
    assert "unpinned-uses" in {finding["ident"] for finding in json.loads(done.stdout)}


# Lock files


def pins(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^ ;\\]+)", line)
        if match:
            found[re.sub(r"[-_.]+", "-", match[1]).lower()] = match[2]
    return found


def requirement_names(requirements: list[str]) -> set[str]:
    names = set()
    for requirement in requirements:
        match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
        assert match, requirement
        names.add(re.sub(r"[-_.]+", "-", match[0]).lower())
    return names


def test_the_lock_files_pin_what_pyproject_asks_for_with_hashes() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    dev = [requirement for requirement in extras["dev"] if not requirement.startswith("hypertest[")]
    dev_lock, action = ROOT / "requirements" / "dev.lock", ROOT / "requirements" / "action.txt"
    runtime = requirement_names(project["dependencies"] + extras["aws"] + extras["node"])
    assert requirement_names(dev) | runtime <= set(pins(dev_lock))
    assert runtime <= set(pins(action))
    assert "hypertest" not in pins(dev_lock)  # installed editable, apart
    for path in (dev_lock, action):
        text = path.read_text(encoding="utf-8")
        assert "bash scripts/lock.sh" in text
        blocks = [block for block in re.split(r"\n(?=[A-Za-z0-9])", text) if re.match(r"[A-Za-z0-9].*==", block)]
        assert len(blocks) == len(pins(path)), path
        assert all("--hash=sha256:" in block for block in blocks), path
    # the image ships the versions the tests ran with
    assert {name: version for name, version in pins(action).items() if name in pins(dev_lock)} == {
        name: pins(dev_lock)[name] for name in pins(action) if name in pins(dev_lock)}


def test_bootstrap_installs_from_the_lock_and_the_image_from_its_requirements() -> None:
    bootstrap = (ROOT / "scripts" / "bootstrap.sh").read_text(encoding="utf-8")
    assert "--require-hashes" in bootstrap
    assert '--requirement "$ROOT/requirements/dev.lock"' in bootstrap
    assert '--no-deps -e "$ROOT"' in bootstrap
    assert '"$ROOT/requirements/dev.lock" | sha256sum' in bootstrap  # a changed lock installs again
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "COPY requirements/action.txt" in dockerfile
