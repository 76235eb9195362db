"""The docker provider: every unit runs in a Lambda sandbox emulated with Docker, from the image deploy builds.

Before the first unit, the test image is built as `deploy` builds it (the runner base from
runner/Dockerfile unless baseImage names one, then the project's dependencies and tests), but kept on
the daemon instead of pushed. Units are then invoked through the image's own runtime client in warm
sandboxes (emulator.py). Artifacts, blobs and large results land in the run folder, which every
sandbox has mounted.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TextIO

from hypertest.core.config import Settings
from hypertest.core.contracts import Discovery
from hypertest.core.registry import runner_plugin
from hypertest.core.sources import output_skip
from hypertest.errors import InfrastructureError
from hypertest.providers.docker.built_images import built_image, image_labels
from hypertest.providers.docker.emulator import LambdaEmulator, Observer
from hypertest.providers.docker.sandbox_spec import SandboxError, SandboxSpec, host_user
from hypertest.providers.docker.settings import DockerSettings
from hypertest.providers.image_stream import explain
from hypertest.providers.run_folder import RunFolderStore
from hypertest.providers.runner_base import ensure_runner_base
from hypertest.providers.test_bundle import (
    Sources,
    TestBundle,
    bundle_line,
    compare,
    deploy_input_names,
    local_sources,
    make_bundle,
    runner_hash,
)
from hypertest.providers.test_image import PLATFORMS, TASK_ROOT, ImageBuilder, docker_client, prepare_context
from runner.bundle_format import BundleError
from runner.environment import PASS_VARIABLE
from runner.model import error_unit_result

# The emulated sandbox's errors (as Lambda names them) and the infrastructure cause each is (else: crash).
ERROR_CAUSES = {"Runtime.OutOfMemory": "OOM", "Sandbox.Timedout": "timeout"}

RUN_FOLDER = "/opt/hypertest-run"  # where a sandbox sees the run folder
FUNCTION_NAME = "hypertest-docker"
PLATFORM = PLATFORMS["x86_64"]
LOG_LINES = 12
BUNDLES = "bundles"  # the run folder's folder of test bundles


class DockerProvider(RunFolderStore):
    """Runs units in emulated Lambda sandboxes of the test image on the Docker daemon."""

    name = "docker"
    shares_host = False  # each sandbox has its own network and its own copy of the project, as on Lambda

    def __init__(self, settings: DockerSettings, run_settings: Settings, concurrency: int, out: TextIO,
                 environ: Mapping[str, str], *, observe: Observer | None = None) -> None:
        self.settings = settings
        self.observe = observe  # looks into each sandbox after each invocation (the soak test's probe)
        self.run_settings = run_settings
        self.concurrency = concurrency
        self.out = out
        self.environ = dict(environ)
        self.client: Any = None
        self.image: str | None = None
        self.emulator: LambdaEmulator | None = None
        self.run_dir: Path | None = None
        self._lock = threading.Lock()
        self.cold_starts = 0
        self.invocations = 0
        self.billed_ms = 0
        self.bundle: TestBundle | None = None  # the changed test files every unit lays over the image's copy

    # --- before the units ------------------------------------------------------------------------------

    def preflight(self, discovery: Discovery, peaks: Mapping[str, int]) -> None:
        """Connect to the daemon and build the test image (each layer reused when unchanged)."""
        self.client = docker_client(self.environ)
        self.image = self.build_image(discovery)

    def build_image(self, discovery: Discovery) -> str:
        """The test image's tag on the daemon, built as deploy builds it."""
        def say(text: str) -> None:
            self.out.write(f"  {text}\n")
            self.out.flush()

        settings = self.settings
        if settings.base_image:
            base, base_id = settings.base_image, ImageBuilder(self.client, say).base_id(settings.base_image, None)
        else:
            built = ensure_runner_base(self.client, say, python_image=settings.python_image, platform=PLATFORM,
                                       network=settings.network, setting="provider.docker.pythonImage")
            base, base_id = built.reference, built.image_id
        plugin = runner_plugin(self.run_settings.test_runner.type)
        skip = output_skip(self.run_settings.output, discovery.project_dir)
        with tempfile.TemporaryDirectory(prefix="ht-build-") as scratch:
            inputs = plugin.image_inputs(discovery.project_dir)
            context = prepare_context(discovery.project_dir, Path(scratch), inputs, base_image=base, base_id=base_id,
                                      platform=PLATFORM, skip=skip)
            reference = f"hypertest-test:{context.tag}"
            if self._image_exists(reference):
                say(f"test image {reference}: unchanged, reused")
                return reference
            sources = local_sources(discovery.project_dir, inputs, discovery.config_file, skip=skip,
                                    built_from=(f"base:{base}", f"base-id:{base_id}", f"platform:{PLATFORM}",
                                                f"runner:{runner_hash()}"))
            reused = self._image_for_a_bundle(discovery, sources, say) if settings.test_bundles else None
            if reused is not None:
                return reused
            say(f"building the test image {reference} ({context.files} files)")
            ImageBuilder(self.client, say).build(context, reference, PLATFORM, settings.network,
                                                 labels=image_labels(sources))
        return reference

    def _image_for_a_bundle(self, discovery: Discovery, sources: Sources, say: Callable[[str], None]) -> str | None:
        """A test image built before that runs these sources as they are or with a test bundle of the changed
        files (self.bundle), or None when one must be built (and why, said when an earlier image shows it)."""
        found = built_image(self.client, sources)
        if found is None:
            return None
        change = compare(found.sources, sources, deploy_inputs=deploy_input_names(
            self.run_settings.test_runner.type, discovery.project_dir, discovery.config_file))
        if change.kind == "same":
            say(f"test image {found.reference}: the same tests, reused")
            return found.reference
        if change.kind == "deploy":
            say(f"the test image is built again: {change.reason}")
            return None
        try:
            self.bundle = make_bundle(discovery.project_dir, change, sources)
        except BundleError as exc:
            say(f"the changed test files cannot be shipped as a test bundle ({exc})")
            return None
        say(f"test image {found.reference}: {bundle_line(change, self.bundle)}")
        return found.reference

    def _image_exists(self, reference: str) -> bool:
        import docker.errors

        try:
            self.client.images.get(reference)
            return True
        except docker.errors.ImageNotFound:
            return False
        except docker.errors.APIError as exc:
            raise InfrastructureError(f"the Docker daemon cannot look up the test image {reference}: "
                                      f"{explain(exc)}") from None

    def unit_payload(self, payload: Mapping[str, Any], run_dir: Path, discovery: Discovery) -> dict[str, Any]:
        """The image's project folder, the run folder as the sandbox sees it, the function's timeout."""
        self.run_dir = run_dir
        envelope = {**payload, "projectDir": f"{TASK_ROOT}/project", "artifacts": {"kind": "local", "root": RUN_FOLDER},
                    "timeoutMs": self.settings.timeout_s * 1000}
        if self.bundle is not None:
            with self._lock:
                if not (run_dir / BUNDLES / self.bundle.name).is_file():
                    self.put_run_file(run_dir, f"{BUNDLES}/{self.bundle.name}", self.bundle.data)
            envelope["bundle"] = self.bundle.reference({"kind": "local", "root": f"{RUN_FOLDER}/{BUNDLES}"})
        return envelope

    # --- the units ---------------------------------------------------------------------------------------

    def execute(self, payload: Mapping[str, Any]) -> Mapping[str, object]:
        """One invocation in a warm sandbox (a fresh unit, a retry: in a new one); what went wrong in the sandbox
        becomes an `error` result that names its infrastructure cause (`infra`)."""
        try:
            result = self._emulator().invoke(json.dumps(payload).encode(), fresh=payload.get("fresh") is True)
        except SandboxError as exc:
            return {**error_unit_result(str(exc)), "infra": "lost"}
        if result.error_type is not None:
            return {**error_unit_result(self._explain(result.error_type, result.message, result.body,
                                                      result.log_tail)),
                    "infra": ERROR_CAUSES.get(result.error_type, "crash")}
        try:
            answer: Mapping[str, Any] = json.loads(result.body)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            return {**error_unit_result(f"the function answered malformed JSON: {exc}"), "infra": "malformed result"}
        if isinstance(answer, Mapping) and isinstance(answer.get("resultRef"), str) and self.run_dir is not None:
            try:
                loaded: Mapping[str, Any] = json.loads((self.run_dir / str(answer["resultRef"])).read_bytes())
            except (OSError, ValueError) as exc:
                return {**error_unit_result(f"the unit's stored result cannot be read: {exc}"),
                        "infra": "malformed result"}
            return loaded
        return answer

    def _explain(self, error_type: str, message: str, body: bytes, log_tail: str) -> str:
        if error_type == "Runtime.OutOfMemory":
            message += f" (provider.docker.memory is {self.settings.memory_mb} MB: raise it)"
        elif error_type == "Sandbox.Timedout":
            message += f" (provider.docker.timeout is {self.settings.timeout_s} s)"
        elif not message or message.startswith("the handler") or message.startswith("the function failed"):
            try:
                detail = json.loads(body).get("errorMessage", "")
            except (ValueError, AttributeError):
                detail = body[:500].decode(errors="replace")
            message = f"{message}: {error_type}: {detail}"
        lines = [line for line in log_tail.strip().splitlines() if line.strip()][-LOG_LINES:]
        return message + ("\nthe sandbox's last output:\n" + "\n".join(lines) if lines else "")

    def _emulator(self) -> LambdaEmulator:
        with self._lock:  # the first units ask for it at the same time
            return self._make_emulator()

    def _make_emulator(self) -> LambdaEmulator:
        if self.emulator is None:
            if self.image is None or self.run_dir is None:
                raise InfrastructureError("the docker provider ran a unit before its preflight")
            user = host_user()
            if user.startswith("993:"):
                self.run_dir.chmod(0o777)  # the sandbox's user writes the artifacts; root reads them anyway
            environment = {**self.settings.environment, "HT_FUNCTION": FUNCTION_NAME}
            if self.settings.environment:
                environment[PASS_VARIABLE] = ",".join(sorted(self.settings.environment))
            spec = SandboxSpec(image=self.image, function_name=FUNCTION_NAME, memory_mb=self.settings.memory_mb,
                               ephemeral_storage_mb=self.settings.ephemeral_storage_mb,
                               timeout_s=float(self.settings.timeout_s), environment=environment,
                               mounts={str(self.run_dir): RUN_FOLDER}, user=user, cpus=_daemon_cpus(self.client))
            self.emulator = LambdaEmulator(self.client, spec, self.concurrency, observe=self.observe)
        return self.emulator

    def stop_running(self) -> bool:
        """As on Lambda, whose contract the sandboxes follow, an invocation in flight runs to its end."""
        return False

    def warm_up(self, payload: Mapping[str, Any] | None, slots: int) -> None:
        """Nothing: a sandbox starts for an invocation, as Lambda starts one."""

    def cancel(self) -> None:
        """Kill every sandbox: their units end as errors, and the run reports what finished."""
        if self.emulator is not None:
            self.emulator.cancel()

    def close(self) -> None:
        """Remove the sandboxes."""
        with self._lock:
            emulator, self.emulator = self.emulator, None
        if emulator is not None:
            self._remember(emulator)
            emulator.close()

    # --- after the units -------------------------------------------------------------------------------

    def details(self) -> Mapping[str, Any]:
        """The sandboxes' image and contract, how many cold starts and invocations the run had, and their
        duration as Lambda would bill it."""
        emulator = self.emulator
        if emulator is not None:
            self._remember(emulator)
        return {"image": self.image, "memoryMb": self.settings.memory_mb,
                "ephemeralStorageMb": self.settings.ephemeral_storage_mb, "timeoutS": self.settings.timeout_s,
                "coldStarts": self.cold_starts, "invocations": self.invocations, "billedDurationMs": self.billed_ms,
                **({"testBundle": self.bundle.details()} if self.bundle is not None else {})}

    def _remember(self, emulator: LambdaEmulator) -> None:
        """Keep the emulator's counts (they outlive it: details() is asked after close())."""
        self.cold_starts, self.invocations, self.billed_ms = emulator.started, emulator.invocations, emulator.billed_ms

    def put_run_file(self, run_dir: Path, key: str, data: bytes) -> str:
        """Write data below the run folder, readable by the sandboxes' user."""
        key = super().put_run_file(run_dir, key, data)
        (run_dir / key).chmod(0o644)
        return key


def _daemon_cpus(client: Any) -> float:
    try:
        return float(client.info().get("NCPU") or os.cpu_count() or 1)
    except Exception:
        return float(os.cpu_count() or 1)
