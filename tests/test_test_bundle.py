"""What the host ships instead of a deploy (providers/test_bundle.py): which changes a bundle carries and which
need a deploy, the bundle itself (read back with the runner's own reader), and the drift check that knows it."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from hypertest.core.contracts import ImageInputs
from hypertest.errors import UsageError
from hypertest.providers.aws.manifest import Manifest, check_drift
from hypertest.providers.test_bundle import (
    SourceChange,
    Sources,
    compare,
    local_sources,
    make_bundle,
    sources_from_json,
)
from runner.bundle_format import BundleError, extract_bundle

pytestmark = pytest.mark.unit
BUILT_FROM = ("runner:1", "base:python")


def project(root: Path) -> Path:
    (root / "tests" / "helpers").mkdir(parents=True)
    (root / "package.json").write_text('{"name": "suite"}')
    (root / "package-lock.json").write_text('{"lockfileVersion": 3}')
    (root / "playwright.config.ts").write_text("export default {};\n")
    (root / "tests" / "a.spec.ts").write_text("test('a', () => {});\n")
    (root / "tests" / "helpers" / "data.json").write_text('{"n": 1}')
    (root / ".env").write_text("TOKEN=secret\n")
    (root / "node_modules" / "x").mkdir(parents=True)
    (root / "node_modules" / "x" / "index.js").write_text("module.exports = 1;\n")
    return root


def sources(root: Path, **overrides: str) -> Sources:
    inputs = ImageInputs(files=tuple((name, (root / name).read_bytes()) for name in
                                     ("package.json", "package-lock.json")), installer="npm")
    return local_sources(root, inputs, root / "playwright.config.ts",
                         built_from=tuple(overrides.get("built_from", ",".join(BUILT_FROM)).split(",")))


def test_the_sources_list_each_shipped_file_but_secrets_and_dependencies(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    found = sources(root)
    assert sorted(found.files) == ["package-lock.json", "package.json", "playwright.config.ts",
                                   "tests/a.spec.ts", "tests/helpers/data.json"]
    assert found.files["tests/a.spec.ts"] == hashlib.sha256(b"test('a', () => {});\n").hexdigest()
    assert sources_from_json(json.loads(json.dumps(found.to_json()))) == found


@pytest.mark.parametrize("document", [None, [], {"deployKey": 1, "files": {}}, {"deployKey": "k"},
                                      {"deployKey": "k", "files": {"a": 1}}])
def test_a_manifest_without_usable_sources_reads_as_none(document: object) -> None:
    assert sources_from_json(document) is None


def test_a_test_change_is_shipped_and_a_dependency_or_config_change_needs_a_deploy(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    deployed = sources(root)
    assert compare(deployed, sources(root)).kind == "same"
    (root / "tests" / "a.spec.ts").write_text("test('a, renamed', () => {});\n")
    (root / "tests" / "b.spec.ts").write_text("test('b', () => {});\n")
    (root / "tests" / "helpers" / "data.json").unlink()
    change = compare(deployed, sources(root))
    assert (change.kind, change.changed, change.deleted) == ("tests", ("tests/a.spec.ts", "tests/b.spec.ts"),
                                                             ("tests/helpers/data.json",))
    assert change.describe() == ("3 test files changed since the deploy: tests/a.spec.ts, tests/b.spec.ts, "
                                 "tests/helpers/data.json (deleted)")
    inputs = ("package.json", "package-lock.json", "playwright.config.ts")
    (root / "package.json").write_text('{"name": "suite", "dependencies": {"left-pad": "1"}}')
    change = compare(deployed, sources(root), deploy_inputs=inputs)
    assert change.kind == "deploy" and "(package.json)" in change.reason
    (root / "package.json").write_text('{"name": "suite"}')
    (root / "playwright.config.ts").write_text("export default { retries: 1 };\n")
    change = compare(deployed, sources(root), deploy_inputs=inputs)
    assert change.kind == "deploy" and "(playwright.config.ts)" in change.reason
    (root / "playwright.config.ts").write_text("export default {};\n")
    assert compare(deployed, sources(root, built_from="runner:2,base:python")).kind == "deploy"  # a new runner
    assert compare(None, sources(root)).kind == "deploy"  # an older deploy does not list its files


def test_a_bundle_holds_the_changed_files_and_is_the_same_bytes_each_time(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    deployed = sources(root)
    (root / "tests" / "a.spec.ts").write_text("test('a, renamed', () => {});\n")
    (root / "tests" / "helpers" / "data.json").unlink()
    local = sources(root)
    change = compare(deployed, local)
    bundle = make_bundle(root, change, local)
    assert bundle == make_bundle(root, change, local)  # content-addressed: the same files, the same name
    assert bundle.sha256 == hashlib.sha256(bundle.data).hexdigest() and (bundle.files, bundle.deleted) == (1, 1)
    assert bundle.reference({"kind": "local", "root": "/r"}) == {
        "sha256": bundle.sha256, "key": f"{bundle.sha256}.tar.gz", "bytes": len(bundle.data),
        "store": {"kind": "local", "root": "/r"}}
    (tmp_path / "out").mkdir()
    manifest = extract_bundle(bundle.data, tmp_path / "out")  # what the runner reads
    assert dict(manifest.files) == {"tests/a.spec.ts": local.files["tests/a.spec.ts"]}
    assert manifest.deleted == ("tests/helpers/data.json",)
    assert (tmp_path / "out" / "files" / "tests" / "a.spec.ts").read_text() == "test('a, renamed', () => {});\n"


def test_a_changed_file_that_is_a_link_is_not_bundled(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    deployed = sources(root)
    (tmp_path / "outside.ts").write_text("secret\n")
    (root / "tests" / "link.spec.ts").symlink_to(tmp_path / "outside.ts")
    local = sources(root)
    with pytest.raises(BundleError, match="link"):
        make_bundle(root, compare(deployed, local), local)


def test_a_changed_file_whose_name_is_not_utf8_is_not_bundled(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    deployed = sources(root)
    (root / "tests" / os.fsdecode(b"bad\xff.spec.ts")).write_text("test('x', () => {});\n")
    local = sources(root)
    with pytest.raises(BundleError, match="not a UTF-8 name"):
        make_bundle(root, compare(deployed, local), local)


def manifest(sources_hash: str) -> Manifest:
    return Manifest(image_uri="i", image_digest="d", sources_hash=sources_hash, hypertest_version="0",
                    playwright_version="1", tests=(), deployed_at="2026-12-07T00:00:00Z")


def test_drift_is_a_deploy_change_only() -> None:
    tests = SourceChange("tests", changed=("tests/a.spec.ts",))
    deploy = SourceChange("deploy", reason="what the image is built from changed since the deploy (package.json)")
    recorded = dataclasses.replace(manifest("old"), sources=Sources(deploy_key="k", files={}))
    assert check_drift(recorded, unhashed, "warn", tests) is None  # shipped as a bundle
    # the manifest records its files: the change decides, with the same sources too (a new runner), unhashed
    assert "deploy first" in str(check_drift(dataclasses.replace(recorded, sources_hash="same"), unhashed, "warn",
                                             deploy))
    assert check_drift(manifest("same"), lambda: "same", "error", deploy) is None  # an older manifest: the hash
    warning = check_drift(manifest("old"), lambda: "new", "warn", deploy)
    assert warning == ("what the image is built from changed since the deploy (package.json): deploy first "
                       "(the function runs the copy deployed at 2026-12-07T00:00:00Z)")
    with pytest.raises(UsageError, match="deploy first"):
        check_drift(manifest("old"), lambda: "new", "error", deploy)
    assert "differ from the deployed ones: deploy first" in str(check_drift(manifest("old"), lambda: "new", "warn"))
    assert check_drift(manifest("old"), unhashed, "ignore", deploy) is None


def unhashed() -> str:
    """The sources hash, which check_drift must not need when the manifest records the files."""
    raise AssertionError("the sources were hashed")


def test_a_fifo_put_in_place_of_a_changed_file_is_refused_not_waited_on(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    deployed = sources(root)
    (root / "tests" / "a.spec.ts").write_text("test('a, renamed', () => {});\n")
    local = sources(root)
    change = compare(deployed, local)
    (root / "tests" / "a.spec.ts").unlink()
    os.mkfifo(root / "tests" / "a.spec.ts")  # swapped in after the listing: opening it must not block
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(make_bundle, root, change, local)
        try:
            with pytest.raises(BundleError, match="not a regular file"):
                future.result(timeout=10)
        finally:
            if not future.done():  # it blocked: a writer releases it, so that the test ends
                os.close(os.open(root / "tests" / "a.spec.ts", os.O_WRONLY | os.O_NONBLOCK))
