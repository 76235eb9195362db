"""`hypertest deploy`: image to ECR (skipped when unchanged), function created or updated, manifest."""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import botocore.exceptions

from hypertest import __version__
from hypertest.core.config import Settings
from hypertest.core.contracts import Discovery
from hypertest.core.registry import runner_plugin
from hypertest.core.sources import output_skip
from hypertest.errors import UsageError
from hypertest.providers.aws.clients import AwsClients, auth_config
from hypertest.providers.aws.function import deploy_function
from hypertest.providers.aws.manifest import Manifest, aws_built_from, write_manifest
from hypertest.providers.aws.provider import aws_errors
from hypertest.providers.aws.settings import AwsSettings, run_aws_settings
from hypertest.providers.runner_base import (
    ensure_runner_base,
    input_files,
    local_reference,
    runner_base_hash,
    source_root,
)
from hypertest.providers.test_bundle import local_sources
from hypertest.providers.test_image import PLATFORMS, ImageBuilder, docker_client, prepare_context
from runner.environment import child_environment


@dataclass(frozen=True)
class DeployResult:
    """What deploy did."""

    image_uri: str
    tag: str
    pushed: bool
    function: str
    manifest_key: str
    durations: Mapping[str, float]


class _Steps:
    """Prints each step as it starts and its duration when it ends."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.durations: dict[str, float] = {}

    def run(self, name: str, action: Callable[[], Any]) -> Any:
        self.out.write(f"• {name}\n")
        self.out.flush()
        started = time.monotonic()
        value = action()
        self.durations[name] = time.monotonic() - started
        self.out.write(f"  done in {self.durations[name]:.1f} s\n")
        self.out.flush()
        return value

    def say(self, text: str) -> None:
        self.out.write(f"  {text}\n")
        self.out.flush()


def deploy(settings: Settings, out: TextIO, environ: Mapping[str, str] | None = None) -> DeployResult:
    """Build and push the test image when it changed, then point the function at it."""
    env = dict(os.environ if environ is None else environ)
    if settings.provider.type != "aws":
        raise UsageError("deploy needs provider.type: aws in hypertest.yml (the local provider has nothing to deploy)")
    aws = run_aws_settings(settings)
    if not aws.base_image:
        input_files(source_root())  # before any work: can the runner base image be built here?
    steps = _Steps(out)
    clients = AwsClients(aws, settings.concurrency)
    plugin = runner_plugin(settings.test_runner.type)
    discovery: Discovery = steps.run("discover tests", lambda: plugin.discover(settings.test_runner,
                                                                               child_environment(env)))
    steps.say(f"{len(discovery.tests)} tests")
    with aws_errors(aws):
        registry, auth = steps.run("ECR: repository and login", lambda: _registry(clients, aws))
    docker = steps.run("Docker: connect", lambda: docker_client(env))
    builder = ImageBuilder(docker, steps.say)
    platform = PLATFORMS[aws.architecture]
    network = None if aws.build_network == "default" else aws.build_network
    repository = f"{registry}/{aws.repository_name}"
    if aws.base_image:
        base_image = aws.base_image
        base_id = steps.run("base image", lambda: builder.base_id(base_image, auth))
    else:
        base_image, base_id = steps.run("base image", lambda: _runner_base(
            builder, aws, repository, auth, platform=platform, network=network))
    with tempfile.TemporaryDirectory(prefix="ht-build-") as scratch:
        inputs = plugin.image_inputs(discovery.project_dir)
        context = steps.run("build context", lambda: prepare_context(
            discovery.project_dir, Path(scratch), inputs, base_image=base_image, base_id=base_id,
            platform=platform, skip=output_skip(settings.output, discovery.project_dir)))
        steps.say(f"{context.files} files, tag {context.tag}")
        sources = local_sources(discovery.project_dir, inputs, discovery.config_file, built_from=aws_built_from(aws),
                                skip=output_skip(settings.output, discovery.project_dir))
        reference = f"{repository}:{context.tag}"
        digest = builder.remote_digest(reference, auth)
        pushed = digest is None
        if digest is None:
            steps.run("docker build", lambda: builder.build(context, reference, platform, network))
            digest = steps.run("docker push", lambda: builder.push(repository, context.tag, auth))
        else:
            steps.say("the registry already has this image: build and push skipped")
    image_uri = f"{repository}@{digest}"
    with aws_errors(aws):
        what = steps.run("Lambda function", lambda: deploy_function(clients.client("lambda"), aws, image_uri,
                                                                     steps.say))
        manifest = Manifest(image_uri=image_uri, image_digest=str(digest), sources_hash=context.sources_hash,
                            hypertest_version=__version__, playwright_version=discovery.runner_version,
                            tests=tuple({"id": t.id, "project": t.project, "file": t.file,
                                         "titlePath": list(t.title_path)} for t in discovery.tests),
                            deployed_at=dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z"),
                            sources=sources)
        key = steps.run("manifest", lambda: write_manifest(clients.client("s3"), aws, manifest))
    out.write(f"deployed {image_uri} to function {aws.function_name} ({what}); "
              f"manifest s3://{aws.bucket}/{key}\n")
    return DeployResult(image_uri=image_uri, tag=context.tag, pushed=pushed, function=what, manifest_key=key,
                        durations=dict(steps.durations))


def _runner_base(builder: ImageBuilder, aws: AwsSettings, repository: str, auth: Mapping[str, str], *,
                 platform: str, network: str | None) -> tuple[str, str]:
    """The runner base image in the function's repository as base-<content hash>: built from runner/Dockerfile
    and pushed, unless the registry has it already; returns its reference and the daemon's id of it."""
    docker, say = builder.docker, builder.say
    setting = "provider.aws.pythonImage"
    digest = runner_base_hash(docker, say, python_image=aws.python_image, platform=platform, setting=setting)
    tag = f"base-{digest}"
    reference = f"{repository}:{tag}"
    say(f"base image: built from runner/Dockerfile FROM {aws.python_image} (tag {tag})")
    if builder.remote_digest(reference, auth) is not None:
        say(f"{tag} is already in the registry: reused")
        local = _local_image(docker, local_reference(digest))
        if local is not None:
            local.tag(repository, tag)
            return reference, str(local.id)
        return reference, builder.base_id(reference, auth)  # pulled: no build on a new machine
    base = ensure_runner_base(docker, say, python_image=aws.python_image, platform=platform, network=network,
                              setting=setting)
    tag = f"base-{base.content_hash}"  # the same unless a source changed meanwhile: then it names what was built
    docker.images.get(base.reference).tag(repository, tag)
    say(f"pushing {tag} to {repository}")
    builder.push(repository, tag, auth)
    return f"{repository}:{tag}", base.image_id


def _local_image(docker: Any, reference: str) -> Any:
    """The daemon's image of reference, or None."""
    from docker.errors import ImageNotFound

    try:
        return docker.images.get(reference)
    except ImageNotFound:
        return None


def _registry(clients: AwsClients, aws: AwsSettings) -> tuple[str, dict[str, str]]:
    ecr = clients.client("ecr")
    try:
        ecr.describe_repositories(repositoryNames=[aws.repository_name])
    except botocore.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "RepositoryNotFoundException":
            raise
        ecr.create_repository(repositoryName=aws.repository_name,
                              imageScanningConfiguration={"scanOnPush": False})
    token = ecr.get_authorization_token()["authorizationData"][0]
    auth = auth_config(token)
    registry = aws.registry or str(token["proxyEndpoint"]).removeprefix("https://").removeprefix("http://")
    auth["serveraddress"] = registry
    return registry, auth
