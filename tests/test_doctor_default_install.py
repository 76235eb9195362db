"""`hypertest doctor` and friends on the default install (no `[aws]` extra): boto3, botocore and docker
cannot be imported in the subprocess, as on a machine that never installed them."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from tests.conftest import DEMO, ROOT, copy_suite

WITHOUT_AWS = textwrap.dedent("""
    import sys
    class Missing:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("boto3", "botocore", "docker"):
                raise ModuleNotFoundError("No module named " + name, name=name)
            return None
    sys.meta_path.insert(0, Missing())
    import importlib.util
    real = importlib.util.find_spec
    importlib.util.find_spec = lambda name, *a: None if name.split(".")[0] in ("boto3", "botocore", "docker") \\
        else real(name, *a)
    sys.path.insert(0, ROOT_PATH)
    from hypertest.cli import main
    raise SystemExit(main(sys.argv[1:]))
""")


def run(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", WITHOUT_AWS.replace("ROOT_PATH", repr(str(ROOT))), *args], cwd=project,
                          capture_output=True, text=True, timeout=120, check=False)


def test_doctor_checks_a_local_setup_without_the_aws_packages(tmp_path: Path) -> None:
    project = copy_suite(DEMO, tmp_path / "demo")
    (project / "hypertest.yml").write_text("provider:\n  type: local\n")
    completed = run(project, "doctor")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "ok     Node.js" in completed.stdout and "ok     Playwright" in completed.stdout
    assert "ok     Chromium" in completed.stdout and "Traceback" not in completed.stderr


def test_the_aws_provider_without_its_packages_is_a_clear_error(tmp_path: Path) -> None:
    project = copy_suite(DEMO, tmp_path / "demo")
    (project / "hypertest.yml").write_text("provider:\n  type: aws\n  aws:\n    region: eu-west-1\n"
                                           "    functionName: f\n    bucket: my-bucket\n")
    for command in ("doctor", "deploy", "invoke"):
        completed = run(project, command)
        assert completed.returncode == 2, (command, completed.stdout + completed.stderr)
        assert "provider.type: aws needs the Python packages boto3, botocore, docker" in completed.stderr
        assert "pip install 'hypertest[aws]'" in completed.stderr and "Traceback" not in completed.stderr
