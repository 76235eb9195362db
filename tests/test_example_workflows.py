"""The example workflows are valid YAML, and the one that keeps the history with actions/cache caches the folder
hypertest keeps it in by default, restoring the base branch's before its own and saving even when tests fail."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from hypertest.core.load import load_settings
from tests.conftest import ROOT

WORKFLOWS = ROOT / "examples" / "workflows"


def steps(name: str) -> list[dict[str, Any]]:
    document = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    return [step for job in document["jobs"].values() for step in job["steps"]]


def test_every_example_workflow_is_yaml_with_jobs() -> None:
    for path in sorted(WORKFLOWS.glob("*.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert document["jobs"], path


def test_the_local_workflow_caches_the_default_history_folder(tmp_path: Path) -> None:
    found = steps("local-pr.yml")
    action = next(step for step in found if str(step.get("uses", "")).endswith("hypertest-action@v1"))
    project = tmp_path / action["with"]["working_directory"]
    project.mkdir()
    (project / "playwright.config.ts").write_text("export default {};\n")
    (project / "hypertest.yml").write_text("provider:\n  type: local\n")
    history = load_settings(project / "hypertest.yml", project).history_folder
    caches = [step for step in found if "actions/cache" in str(step.get("uses", ""))]
    assert [step["uses"].split("@")[0] for step in caches] == ["actions/cache/restore", "actions/cache/restore",
                                                               "actions/cache/save"]
    assert all(tmp_path / step["with"]["path"] == history for step in caches)
    assert "base_ref" in caches[0]["with"]["restore-keys"]  # the base branch's first, then this branch's on top
    assert caches[2]["if"] == "always()"  # a red run is history too
    assert found.index(caches[1]) < found.index(action) < found.index(caches[2])
