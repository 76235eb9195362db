"""`deploy` then `invoke` with the Lambda data plane emulated: the image deploy pushed to a real registry is
pulled and run by its own runtime client (awslambdaric) in the docker provider's Lambda emulator, under
the function's memory, timeout and /tmp, as a non-root user on a read-only root. Only the Invoke call's
HTTP front is the stand-in's; ECR, Lambda's control plane and S3 are moto."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import docker
import pytest

from hypertest.providers.runner_base import RunnerBase
from tests.aws.conftest import FUNCTION, AwsWorld
from tests.aws.services import registry
from tests.conftest import CliResult, load_results

pytestmark = pytest.mark.e2e
Cli = Callable[..., CliResult]


@pytest.fixture(scope="module")
def emulated_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    with registry(tmp_path_factory.mktemp("registry")) as found:
        yield found


def test_deploy_then_invoke_runs_the_pushed_image_in_the_lambda_emulator(
        aws: AwsWorld, cli: Cli, docker_host: str, runner_base: RunnerBase,
        emulated_registry: tuple[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", docker_host)
    role = aws.client("iam").create_role(RoleName="hypertest-exec", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    aws.client("lambda").delete_function(FunctionName=FUNCTION)
    aws.write_config(baseImage=runner_base.reference, registry=emulated_registry[0], roleArn=role,
                     buildNetwork="host", memory=2048, timeout=120, ephemeralStorage=1024,
                     endpoints={"lambda": aws.standin.url, "s3": aws.moto, "ecr": aws.moto, "sts": aws.moto})
    deployed = cli("deploy", cwd=aws.project)
    assert deployed.code == 0, deployed.out + deployed.err
    image_uri = aws.client("lambda").get_function(FunctionName=FUNCTION)["Code"]["ImageUri"]
    client = docker.DockerClient(base_url=docker_host, timeout=300)
    # the daemon forgets the image it built: the emulator must pull what the registry holds
    client.images.remove(f"{image_uri.split('@')[0]}:{deployed_tag(deployed.out)}", force=True)
    aws.standin.run_images(client)
    result = cli("invoke", cwd=aws.project)
    assert result.code == 0, result.out + result.err
    assert "PASSED: 8 passed" in result.out
    assert aws.standin.emulated_image == image_uri  # the pushed image, pulled back by its digest
    assert 1 <= aws.standin.emulator.started <= 2  # warm sandboxes served the eight units
    document = load_results(aws.project / "hypertest-results")
    assert {test["status"] for test in document["tests"]} == {"passed"}
    assert Path(document["reports"]["html"]).is_file()  # one test folder in every sandbox: the blobs merge
    keys = aws.keys(f"hypertest/{document['runId']}/")
    assert any(key.endswith("results.json") for key in keys)  # the sandboxes reached S3 (moto) through the relay
    assert any("/blobs/" in key for key in keys)


def deployed_tag(out: str) -> str:
    line = next(line for line in out.splitlines() if ", tag ht-" in line)
    return line.rsplit("tag ", 1)[1].strip()

