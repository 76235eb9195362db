"""Smoke-test a base runner image (runner/Dockerfile): build the demo suite's test image on it the way
`hypertest deploy` does, then run two demo tests inside it through the real Lambda handler, with the
environment Lambda sets (read-only task root, HOME and /tmp only, AWS_LAMBDA_FUNCTION_NAME).

Usage: python scripts/smoke_base_image.py BASE_IMAGE [--network host] [--ca-bundle FILE]
Needs a Docker daemon (DOCKER_HOST) and, for `npm ci` during the build, the npm registry; behind a
TLS-intercepting proxy, --ca-bundle layers that proxy's CA onto the base for the build only.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hypertest.core.registry import runner_plugin  # noqa: E402
from hypertest.errors import HypertestError  # noqa: E402
from hypertest.providers.test_image import ImageBuilder, docker_client, prepare_context  # noqa: E402

CONTAINER_TMP = "/tmp"  # noqa: S108 - inside the container, where Lambda gives only /tmp
TESTS: list[dict[str, Any]] = [
    {"id": "t1", "project": "chromium", "file": "page.spec.ts", "titlePath": ["has a title"]},
    {"id": "t2", "project": "chromium", "file": "page.spec.ts",
     "titlePath": ["saves a screenshot as a custom artifact"]},
]
EVENT: dict[str, Any] = {
    "runId": "smoke", "unitId": "u1", "projectDir": "project", "configFile": "playwright.config.ts",
    "retries": None, "timeoutMs": 120000, "artifacts": {"kind": "local", "root": f"{CONTAINER_TMP}/store"},
    "tests": TESTS, "selectors": [{k: v for k, v in t.items() if k != "id"} for t in TESTS],
}

SCRIPT = """
import json, sys, time
from runner.handler import handler
class Context:
    def get_remaining_time_in_millis(self):
        return 120000
result = handler(json.loads(sys.argv[1]), Context())
tests = [(t["titlePath"], t["status"], [a["name"] for a in t["artifacts"]],
          (t["attempts"][-1].get("error") or {}).get("message", "")[:600]) for t in result["tests"]]
print(json.dumps({"status": result["status"], "error": result["error"], "tests": tests}))
"""


def build(base: str, network: str, ca_bundle: Path | None) -> tuple[str, Any]:
    """The demo's test image on base (with ca_bundle trusted by npm, when given)."""
    docker = docker_client(os.environ)
    builder = ImageBuilder(docker, print)
    if ca_bundle:
        with tempfile.TemporaryDirectory(prefix="ht-smoke-ca-") as scratch:
            shutil.copyfile(ca_bundle, Path(scratch) / "ca.crt")
            (Path(scratch) / "Dockerfile").write_text(
                f"FROM {base}\nCOPY ca.crt /opt/hypertest/build-ca.crt\n"
                "ENV NODE_EXTRA_CA_CERTS=/opt/hypertest/build-ca.crt\n")
            docker.images.build(path=scratch, tag="hypertest-smoke-base:ca", rm=True)
        base = "hypertest-smoke-base:ca"
    with tempfile.TemporaryDirectory(prefix="ht-smoke-") as scratch:
        base_id = builder.base_id(base, None)
        demo = ROOT / "examples" / "demo"
        context = prepare_context(demo, Path(scratch), runner_plugin("playwright").image_inputs(demo), base_image=base,
                                  base_id=base_id, platform="linux/amd64")
        reference = f"hypertest-smoke:{context.tag}"
        builder.build(context, reference, "linux/amd64", network)
    return reference, docker


def main() -> int:
    """Build, run, print what the handler returned; exit 0 when both tests passed."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("base")
    parser.add_argument("--network", default="host", help="network of the build's npm ci step")
    parser.add_argument("--ca-bundle", type=Path, help="a CA bundle npm must trust during the build")
    args = parser.parse_args()
    try:
        reference, docker = build(args.base, args.network, args.ca_bundle)
    except HypertestError as exc:
        print(exc.render(), file=sys.stderr)
        return int(exc.exit_code)
    output = docker.containers.run(
        reference, entrypoint=["python3", "-c", SCRIPT, json.dumps(EVENT)], network_mode="none", remove=True,
        read_only=True, tmpfs={CONTAINER_TMP: "size=1g"}, working_dir="/var/task",
        environment={"AWS_LAMBDA_FUNCTION_NAME": "smoke", "HOME": CONTAINER_TMP}).decode()
    print(output)
    result = json.loads(output.strip().splitlines()[-1])
    return 0 if [test[1] for test in result["tests"]] == ["passed", "passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
