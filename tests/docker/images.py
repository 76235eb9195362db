"""Small images for the emulator's tests, built on the offline images of the test session."""

from __future__ import annotations

import io
import tarfile
from typing import Any

HANDLERS = '''
import json, os, subprocess, sys, time

def echo(event, context):
    return {"event": event, "user": os.getuid(), "function": os.environ.get("AWS_LAMBDA_FUNCTION_NAME"),
            "memory": os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"), "task": os.environ.get("LAMBDA_TASK_ROOT"),
            "remainingMs": context.get_remaining_time_in_millis(), "cwd": os.getcwd()}

def contract(event, context):
    """What the sandbox looks like from inside."""
    def writable(path):
        try:
            with open(os.path.join(path, "probe"), "w") as handle:
                handle.write("x")
            return True
        except OSError:
            return False
    stat = os.statvfs("/tmp")
    with open("/proc/self/limits") as handle:
        core = next(line for line in handle if line.startswith("Max core file size")).split()[4]
    import socket
    try:
        socket.create_connection(("1.1.1.1", 80), timeout=2).close()
        outside = True
    except OSError:
        outside = False
    return {"uid": os.getuid(), "rootWritable": writable("/"), "taskWritable": writable("/var/task"),
            "tmpWritable": writable("/tmp"), "tmpMb": stat.f_blocks * stat.f_frsize // (1024 * 1024),
            "core": core, "internet": outside,
            "env": {k: v for k, v in os.environ.items() if k.startswith(("AWS_", "LAMBDA_", "TZ"))}}

def fail(event, context):
    raise ValueError("no such order: " + str(event.get("order")))

def huge(event, context):
    return "x" * (7 * 1024 * 1024)

def sleep(event, context):
    time.sleep(event.get("seconds", 600))
    return {"slept": True}

def hog(event, context):
    data = b"x" * (event["mb"] * 1024 * 1024)
    return {"held": len(data)}

def child_hog(event, context):
    subprocess.run([sys.executable, "-c", f"data = b'x' * ({event['mb']} * 1024 * 1024); import time; time.sleep(5)"])
    time.sleep(2)  # as the runner goes on for seconds after Chromium dies: the daemon's oom event comes first
    return {"child": "done"}

def exit_now(event, context):
    os._exit(3)
'''


def build(client: Any, tag: str, dockerfile: str, files: dict[str, str] | None = None) -> str:
    """Build tag from dockerfile and files (name -> text) in a context made in memory."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, text in {"Dockerfile": dockerfile, **(files or {})}.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(data))
    buffer.seek(0)
    client.images.build(fileobj=buffer, custom_context=True, tag=tag, rm=True, network_mode="none")
    return tag


def handler_image(client: Any, base: str) -> str:
    """The runner base with test handlers in the task root (its entry point is awslambdaric)."""
    return build(client, "ht-emulator-handlers:test", f"FROM {base}\nCOPY handlers.py /var/task/handlers.py\n",
                 {"handlers.py": HANDLERS})
