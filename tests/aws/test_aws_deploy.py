"""`hypertest deploy` against a real Docker daemon, a real registry and moto, all on loopback.

ECR's control plane (repository, login token), Lambda's (create, update, waiters) and S3 are moto
as a server; the image goes to Debian's docker-registry through a real dockerd. The base image is
made offline, FROM scratch with a static busybox (no image registry is reachable here), except for
the deploy without baseImage, which builds the real runner base on the offline Python image.
"""

from __future__ import annotations

import io
import json
import os
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from hypertest.core.sources import sources_hash
from hypertest.providers.runner_base import RunnerBase
from tests.aws.conftest import BUCKET, FUNCTION, AwsWorld
from tests.aws.services import blobs, build_test_base, registry
from tests.conftest import CliResult

pytestmark = pytest.mark.e2e
Cli = Callable[..., CliResult]
BASE = "hypertest-test-base:1"

@pytest.fixture(scope="session")
def test_base(docker_host: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    build_test_base(docker.DockerClient(base_url=docker_host), tmp_path_factory.mktemp("base"), BASE)
    return BASE


@pytest.fixture(scope="session")
def local_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    with registry(tmp_path_factory.mktemp("registry")) as found:
        yield found


@pytest.fixture
def deploy_world(aws: AwsWorld, docker_host: str, test_base: str, local_registry: tuple[str, Path],
                 monkeypatch: pytest.MonkeyPatch) -> AwsWorld:
    monkeypatch.setenv("DOCKER_HOST", docker_host)
    role = aws.client("iam").create_role(RoleName="hypertest-exec", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    aws.client("lambda").delete_function(FunctionName=FUNCTION)  # deploy creates it
    aws.write_config(baseImage=BASE, registry=local_registry[0], roleArn=role, buildNetwork="none",
                     endpoints={"lambda": aws.moto, "s3": aws.moto, "ecr": aws.moto, "sts": aws.moto},
                     memory=2048, timeout=300)
    return aws


def image_manifest(registry_host: str, repository: str, tag: str) -> dict[str, Any]:
    """The image manifest in the registry, with its own digest under "digest"."""
    request = urllib.request.Request(f"http://{registry_host}/v2/{repository}/manifests/{tag}", headers={
        "Accept": "application/vnd.docker.distribution.manifest.v2+json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        document: dict[str, Any] = json.loads(response.read())
        document["digest"] = response.headers["Docker-Content-Digest"]
    assert document["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"  # one platform, no index
    return document


def manifest_layers(registry_host: str, repository: str, tag: str) -> list[str]:
    return [layer["digest"] for layer in image_manifest(registry_host, repository, tag)["layers"]]


def registry_tags(registry_host: str, repository: str) -> set[str]:
    with urllib.request.urlopen(f"http://{registry_host}/v2/{repository}/tags/list", timeout=10) as response:
        return set(json.loads(response.read())["tags"])


def drift_warning(world: AwsWorld) -> str:
    """What invoke's preflight says about the deployed sources."""
    from hypertest.core.load import load_settings
    from hypertest.plugins.playwright.discovery import discover
    from hypertest.providers.aws.provider import AwsProvider
    from hypertest.providers.aws.settings import run_aws_settings

    settings = load_settings(world.project / "hypertest.yml", world.project)
    out = io.StringIO()
    provider = AwsProvider(run_aws_settings(settings), 2, out=out, output=settings.output,
                           test_runner=settings.test_runner.type)
    provider.preflight(discover(settings.test_runner), {})
    return out.getvalue()


def deployed_tag(out: str) -> str:
    line = next(line for line in out.splitlines() if ", tag ht-" in line)
    return line.rsplit("tag ", 1)[1].strip()


def test_deploy_then_redeploy_unchanged_then_a_test_change(deploy_world: AwsWorld, cli: Cli,
                                                          local_registry: tuple[str, Path]) -> None:
    host, storage = local_registry
    first = cli("deploy", cwd=deploy_world.project)
    assert first.code == 0, first.out + first.err
    tag = deployed_tag(first.out)
    function = deploy_world.client("lambda").get_function(FunctionName=FUNCTION)
    assert function["Configuration"]["PackageType"] == "Image"
    assert function["Configuration"]["MemorySize"] == 2048 and function["Configuration"]["Timeout"] == 300
    assert function["Code"]["ImageUri"].startswith(f"{host}/{FUNCTION}@sha256:")
    manifest = json.loads(deploy_world.client("s3").get_object(
        Bucket=BUCKET, Key=f"hypertest/manifests/{FUNCTION}.json")["Body"].read())
    assert manifest["sourcesHash"] == sources_hash(deploy_world.project)
    assert len(manifest["tests"]) == 8
    assert drift_warning(deploy_world) == ""  # invoke finds what it would run deployed
    layers = manifest_layers(host, FUNCTION, tag)
    assert len(layers) == 5  # base, working folder, dependency manifests, their installation, tests
    before = blobs(storage)

    second = cli("deploy", cwd=deploy_world.project)
    assert second.code == 0, second.out + second.err
    assert "build and push skipped" in second.out
    assert deployed_tag(second.out) == tag
    assert blobs(storage) == before  # nothing pushed

    assert "tests/page.spec.ts" in manifest["sources"]["files"] and len(manifest["sources"]["deployKey"]) == 64

    spec = deploy_world.project / "tests" / "page.spec.ts"
    spec.write_text(spec.read_text() + "\ntest('a new test', async () => {});\n")
    said = drift_warning(deploy_world)  # a test change: shipped as a test bundle, no deploy asked for
    assert "warning" not in said and "1 test file changed since the deploy: tests/page.spec.ts" in said
    [bundle] = [item["Key"] for item in deploy_world.client("s3").list_objects_v2(
        Bucket=BUCKET, Prefix="hypertest/bundles/")["Contents"]]
    assert said.strip().endswith("instead of a deploy") and bundle.split("/")[-1][:12] in said
    package = deploy_world.project / "package.json"
    original = package.read_text()
    package.write_text(original.replace('"private"', '"description": "changed", "private"', 1))
    said = drift_warning(deploy_world)  # a dependency manifest changed: a bundle cannot install it
    assert "warning: what the image is built from changed since the deploy (package.json): deploy first" in said
    assert "test bundle" not in said
    package.write_text(original)
    third = cli("deploy", cwd=deploy_world.project)
    assert third.code == 0, third.out + third.err
    new_tag = deployed_tag(third.out)
    assert new_tag != tag
    new_layers = manifest_layers(host, FUNCTION, new_tag)
    assert new_layers[:-1] == layers[:-1]  # everything up to the installed dependencies is reused
    assert new_layers[-1] != layers[-1]
    new_manifest = image_manifest(host, FUNCTION, new_tag)
    # pushed: the tests layer, the image config and the manifest; nothing else
    assert blobs(storage) - before == {new_layers[-1], new_manifest["config"]["digest"], new_manifest["digest"]}
    code = deploy_world.client("lambda").get_function(FunctionName=FUNCTION)["Code"]["ImageUri"]
    assert code != function["Code"]["ImageUri"]


def test_docker_not_running(deploy_world: AwsWorld, cli: Cli, monkeypatch: pytest.MonkeyPatch,
                            tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
    result = cli("deploy", cwd=deploy_world.project)
    assert result.code == 3 and "the Docker daemon is not reachable" in result.err
    assert "Traceback" not in result.err


def test_missing_base_image(deploy_world: AwsWorld, cli: Cli, local_registry: tuple[str, Path]) -> None:
    deploy_world.write_config(baseImage=f"{local_registry[0]}/no-such-base:1", registry=local_registry[0],
                              buildNetwork="none", endpoints={"lambda": deploy_world.moto, "s3": deploy_world.moto,
                                                              "ecr": deploy_world.moto})
    result = cli("deploy", cwd=deploy_world.project)
    assert result.code == 2, result.out + result.err
    assert "the base image" in result.err and "no-such-base" in result.err


def test_no_function_and_no_role(deploy_world: AwsWorld, cli: Cli, local_registry: tuple[str, Path]) -> None:
    deploy_world.write_config(baseImage=BASE, registry=local_registry[0], buildNetwork="none",
                              endpoints={"lambda": deploy_world.moto, "s3": deploy_world.moto,
                                         "ecr": deploy_world.moto})
    result = cli("deploy", cwd=deploy_world.project)
    assert result.code == 2, result.out + result.err
    assert f"function '{FUNCTION}' does not exist" in result.err and "roleArn" in result.err


NO_DEPENDENCIES = {"package.json": {"name": "e2e", "version": "1.0.0", "private": True},
                   "package-lock.json": {"name": "e2e", "version": "1.0.0", "lockfileVersion": 3, "requires": True,
                                         "packages": {"": {"name": "e2e", "version": "1.0.0"}}}}


def test_deploy_without_a_base_image_builds_the_runner_base_and_pushes_it_once(
        deploy_world: AwsWorld, runner_base: RunnerBase, python_base: str, cli: Cli,
        local_registry: tuple[str, Path]) -> None:
    host, storage = local_registry
    # npm ci installs nothing, so the test image builds without a network (discovery uses node_modules)
    for name, document in NO_DEPENDENCIES.items():
        (deploy_world.project / name).write_text(json.dumps(document))
    role = deploy_world.client("iam").get_role(RoleName="hypertest-exec")["Role"]["Arn"]
    deploy_world.write_config(pythonImage=python_base, registry=host, roleArn=role, buildNetwork="none",
                              endpoints={"lambda": deploy_world.moto, "s3": deploy_world.moto,
                                         "ecr": deploy_world.moto, "sts": deploy_world.moto})
    base_tag = f"base-{runner_base.content_hash}"

    first = cli("deploy", cwd=deploy_world.project)
    assert first.code == 0, first.out + first.err
    assert f"base image: built from runner/Dockerfile FROM {python_base} (tag {base_tag})" in first.out
    # the session's runner_base fixture built the same inputs on this daemon: reused, not built twice
    assert f"runner base image {runner_base.reference}: already built, reused" in first.out
    assert f"pushing {base_tag} to {host}/{FUNCTION}" in first.out
    tag = deployed_tag(first.out)
    tags = registry_tags(host, FUNCTION)  # the function's own repository (the session's other tests use it too)
    assert {base_tag, tag} <= tags and {t for t in tags if t.startswith("base-")} == {base_tag}
    base = image_manifest(host, FUNCTION, base_tag)
    assert base["config"]["digest"] == runner_base.image_id
    base_layers = [layer["digest"] for layer in base["layers"]]
    layers = manifest_layers(host, FUNCTION, tag)
    # built FROM the pushed base: its layers, then the working folder, dependencies, their install, tests
    assert layers[:len(base_layers)] == base_layers and len(layers) == len(base_layers) + 4
    function = deploy_world.client("lambda").get_function(FunctionName=FUNCTION)
    assert function["Code"]["ImageUri"].startswith(f"{host}/{FUNCTION}@sha256:")
    base_blobs = {*base_layers, base["config"]["digest"], base["digest"]}
    before = blobs(storage)
    assert base_blobs <= before

    second = cli("deploy", cwd=deploy_world.project)
    assert second.code == 0, second.out + second.err
    assert f"{base_tag} is already in the registry: reused" in second.out
    assert "building the runner base image" not in second.out and "pushing base-" not in second.out
    assert "build and push skipped" in second.out and deployed_tag(second.out) == tag
    assert blobs(storage) == before  # nothing pushed, the base's blobs included
    assert image_manifest(host, FUNCTION, base_tag)["digest"] == base["digest"]

    # A new machine (CI) whose daemon has not got the base: pulled from the registry, not built
    client = docker.DockerClient(base_url=os.environ["DOCKER_HOST"], timeout=120)
    for reference in (runner_base.reference, f"{host}/{FUNCTION}:{base_tag}"):
        client.api.remove_image(reference, noprune=True)  # the tags only: the session's test images use it
    try:
        third = cli("deploy", cwd=deploy_world.project)
    finally:
        client.api.tag(runner_base.image_id, *runner_base.reference.split(":"))
    assert third.code == 0, third.out + third.err
    assert f"{base_tag} is already in the registry: reused" in third.out
    assert f"pulling the base image {host}/{FUNCTION}:{base_tag}" in third.out
    assert "building the runner base image" not in third.out and "pushing base-" not in third.out
    assert deployed_tag(third.out) == tag and blobs(storage) == before
    assert client.images.get(f"{host}/{FUNCTION}:{base_tag}").id == runner_base.image_id


def test_deploy_without_a_base_image_and_a_python_image_that_cannot_be_pulled(
        deploy_world: AwsWorld, cli: Cli, local_registry: tuple[str, Path]) -> None:
    missing = f"{local_registry[0]}/no-such-python:3.12"
    deploy_world.write_config(pythonImage=missing, registry=local_registry[0], buildNetwork="none",
                              endpoints={"lambda": deploy_world.moto, "s3": deploy_world.moto,
                                         "ecr": deploy_world.moto, "sts": deploy_world.moto})
    result = cli("deploy", cwd=deploy_world.project)
    assert result.code == 2, result.out + result.err
    assert f"provider.aws.pythonImage: the Python image {missing} cannot be found or pulled" in result.err
    assert "Traceback" not in result.err
