"""`PYTHON -m runner.pytest.fork_server FD OPTIONS`: a warm pytest process that forks one child per unit.

It runs in the suite's own interpreter (its virtualenv activated), in the project folder, and pays once what
every cold unit pays: the interpreter's start, `import pytest`, the plugins and the test modules. With
OPTIONS' `collect` (an argv: the unit's own options with `--collect-only`) it runs one real pytest session
that imports every conftest and test module the suite's args collect, as pytest imports them (its import
mode, its assertion rewriting), but stops at each module: no test function is generated, so nothing a
collection consumes (a parametrize iterator, pytest_generate_tests) is used up before the units run.
`sys.path` and the warning filters are put back as they were before that session.

Over the socket on FD (JSON lines) it then answers:

- once: `{"ready": true}`, or `{"ready": false, "reason": ...}` (pytest does not import, the session
  failed to import a module, a thread runs: a fork would not copy it); then it exits. Threads that a known
  plugin's session started and leaves behind are ended first (KNOWN_THREADS);
- per request `{"argv", "env", "cwd", "log", "pythonPath"}`: it forks a child that starts a session of its
  own (its pid is its process group), replaces os.environ with env, goes to cwd, writes stdout and stderr
  to log and runs `pytest` with argv as `python -m pytest ARGV` would; it answers `{"pid": N}` once the
  child is in its own session, and `{"exitCode": N}` (negative: the signal that ended it) when it ended.

The socket closing ends the server (and a child still running, with its group). This module uses the
standard library and pytest only: it never imports the result plugin (`-p` imports it, rewritten).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import runpy
import select
import signal
import socket
import sys
import tempfile
import threading
import traceback
import warnings
from pathlib import Path
from typing import Any

POLL_S = 0.05  # only where os.pidfd_open is missing
# module -> classes whose thread (a bound method of an instance, listening on its `sock`) may be ended
KNOWN_THREADS = {"pytest_rerunfailures": frozenset({"ServerStatusDB"})}
THREAD_END_S = 2.0
# How this process started with these signals (ignored under nohup, say), before anything it imports can
# handle them: a unit's child gets them back, as a command line started by the runner would have them.
INHERITED_SIGNALS = {number: signal.getsignal(number) or signal.SIG_DFL
                     for number in (signal.SIGTERM, signal.SIGCHLD, signal.SIGHUP)}


def main(fd: int, options: dict[str, Any]) -> int:
    """Get ready as options say, tell the runner, then fork a child per request until the socket closes."""
    channel = socket.socket(fileno=fd)
    reader = channel.makefile("rb")
    here = str(Path.cwd())
    cwd_entry = here if sys.path and sys.path[0] == here else None
    reason = _prepare(options)
    _send(channel, {"ready": True} if reason is None else {"ready": False, "reason": reason})
    if reason is not None:
        return 0
    try:
        for line in reader:
            request = json.loads(line)
            pid = _fork(request, (reader, channel), cwd_entry, str(options.get("pythonPath") or ""))
            code = _wait(pid, channel)
            if code is None:
                return 0  # the runner went away: its child went with it
            _send(channel, {"exitCode": code})
    except OSError:
        return 0  # the runner went away
    return 0


def _prepare(options: dict[str, Any]) -> str | None:
    """Import pytest and run the import-only session; why the server cannot serve, or None."""
    try:
        import pytest
    except BaseException as exc:  # any failure means: no warm path
        return f"pytest does not import: {type(exc).__name__}: {exc}"
    collect = options.get("collect")
    if collect is not None:
        saved_path = list(sys.path)
        importer = _import_only(pytest)
        try:
            with warnings.catch_warnings():  # the filters come back as they were
                code = int(pytest.main(list(collect), plugins=[importer]))
        except BaseException as exc:
            return f"the import-only pytest session failed: {type(exc).__name__}: {exc}"
        finally:
            sys.path[:] = saved_path  # a unit's session inserts its modules' folders itself
            _flush()
        if importer.failures:
            return "the import-only pytest session could not import " + "; ".join(importer.failures[:3])
        if code not in (0, 5):  # 5: no tests collected (it stops at modules)
            return f"the import-only pytest session exited with code {code}"
    _end_known_threads()
    if threading.active_count() > 1:
        names = ", ".join(thread.name for thread in threading.enumerate() if thread is not threading.current_thread())
        return f"a thread runs after the imports ({names}): a forked unit would not have it"
    return None


def _end_known_threads() -> None:
    """End the threads the import-only session's plugins started and left running, where it is known how
    and that nothing else uses them: pytest-rerunfailures (with pytest-xdist installed) serves its failure
    counts to xdist's workers from a thread blocked in accept() on the ended session's socket. Each unit's
    session starts its own."""
    for thread in threading.enumerate():
        owner = getattr(getattr(thread, "_target", None), "__self__", None)
        if type(owner).__module__ in KNOWN_THREADS and type(owner).__name__ in KNOWN_THREADS[type(owner).__module__]:
            listening = getattr(owner, "sock", None)
            if isinstance(listening, socket.socket):
                _end_listener(thread, listening)


def _end_listener(thread: threading.Thread, listening: socket.socket) -> None:
    """End a thread blocked in accept() on listening (its error on the way out is expected, not printed)."""
    previous = threading.excepthook

    def quiet(args: Any) -> None:
        if args.thread is not thread:
            previous(args)

    threading.excepthook = quiet
    try:
        with contextlib.suppress(OSError):
            listening.shutdown(socket.SHUT_RDWR)  # wakes accept(), which then raises: the thread ends
        listening.close()
        thread.join(timeout=THREAD_END_S)
    finally:
        threading.excepthook = previous


def _import_only(pytest: Any) -> Any:
    """A plugin for the server's session: each test module is imported as its collection would import it
    (`Module.obj`), then reported collected with nothing in it; `failures` says what did not import."""

    class ImportOnly:
        def __init__(self) -> None:
            self.failures: list[str] = []

        @pytest.hookimpl(tryfirst=True)  # type: ignore[untyped-decorator]
        def pytest_make_collect_report(self, collector: Any) -> Any:
            """Import a module collector's module; a report with no children (other collectors: pytest's)."""
            if not isinstance(collector, pytest.Module):
                return None
            try:
                collector.obj  # noqa: B018 - the import is the point
            except pytest.skip.Exception:
                pass  # a module-level skip: not imported, as in a unit
            except Exception as exc:
                self.failures.append(f"{collector.nodeid}: {_last_line(exc)}")
            return pytest.CollectReport(collector.nodeid, "passed", None, [])

        def pytest_collectreport(self, report: Any) -> None:
            """Count a collector pytest itself failed (a conftest that does not import, say)."""
            if report.failed:
                self.failures.append(f"{report.nodeid or 'the session'}: {_last_line(report.longrepr)}")

    return ImportOnly()


def _last_line(error: object) -> str:
    """The last line of an error's text (pytest's import errors end with the exception), shortened."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return (lines[-1] if lines else type(error).__name__)[:300]


def _fork(request: dict[str, Any], ends: tuple[Any, socket.socket], cwd_entry: str | None, server_path: str) -> int:
    """Fork the unit's child (without the server's end of the socket: its reader and itself, so that the file
    descriptor is closed); its pid, once the child leads a session of its own."""
    channel = ends[1]
    _flush()
    ready_read, ready_write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 1
        try:
            os.close(ready_read)
            os.setsid()
            os.close(ready_write)
            for end in ends:
                end.close()
            code = _child(request, cwd_entry, server_path)
        except SystemExit as exc:
            code = _exit_status(exc.code)
        except BaseException:  # said on the unit's log, as Python would
            traceback.print_exc()
        finally:
            _flush()
            os._exit(code)
    os.close(ready_write)
    os.read(ready_read, 1)  # end of file: the child is in its own session (or died)
    os.close(ready_read)
    _send(channel, {"pid": pid})
    return pid


def _child(request: dict[str, Any], cwd_entry: str | None, server_path: str) -> int:
    """Become the unit's `python -m pytest ARGV` process and run it; pytest's exit code."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for number, disposition in INHERITED_SIGNALS.items():
        signal.signal(number, disposition)  # what the runner gave the server, as it gives a command line
    clear = getattr(atexit, "_clear", None)
    if clear is not None:
        clear()  # the server's exit handlers are not the unit's
    log = os.open(str(request["log"]), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    os.environ.clear()
    os.environ.update({str(k): str(v) for k, v in request["env"].items()})
    tempfile.tempdir = None  # gettempdir() asks TMPDIR again
    cwd = str(request["cwd"])
    os.chdir(cwd)
    if cwd_entry is not None and sys.path and sys.path[0] == cwd_entry:
        sys.path[0] = cwd  # `python -m` puts the working folder first
    unit_path = str(request.get("pythonPath") or "")
    if server_path and unit_path:
        sys.path[:] = [unit_path if entry == server_path else entry for entry in sys.path]
    sys.argv = ["-m", *map(str, request["argv"])]  # run_module sets argv[0] as `python -m` does
    if getattr(sys, "orig_argv", None):
        sys.orig_argv = [sys.orig_argv[0], "-m", "pytest", *sys.argv[1:]]
    try:
        runpy.run_module("pytest", run_name="__main__", alter_sys=True)  # pytest/__main__.py, as `-m pytest` runs it
        code = 0
    except SystemExit as exc:
        code = _exit_status(exc.code)
    _flush()
    run_exit_functions = getattr(atexit, "_run_exitfuncs", None)
    if run_exit_functions is not None:
        run_exit_functions()  # those the unit registered, as its own interpreter would at its exit
    return code


def _exit_status(code: object) -> int:
    """The exit status SystemExit(code) gives a Python process (a code that is no number is printed, 1)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return int(code)
    print(code, file=sys.stderr)
    return 1


def _wait(pid: int, channel: socket.socket) -> int | None:
    """The child's exit code (negative: the signal that ended it); None when the runner closed the socket
    first (the child's group is killed, the child reaped)."""
    pidfd_open = getattr(os, "pidfd_open", None)
    watched = pidfd_open(pid) if pidfd_open is not None else None
    try:
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done == pid:
                return _exit_code(status)
            ready, _, _ = select.select([channel] + ([watched] if watched is not None else []), [], [],
                                        None if watched is not None else POLL_S)
            if channel in ready and not channel.recv(4096):
                with contextlib.suppress(OSError):
                    os.killpg(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                return None
    finally:
        if watched is not None:
            os.close(watched)


def _exit_code(status: int) -> int:
    """A wait status as subprocess gives it: the exit code, or minus the signal that ended the process."""
    if os.WIFSIGNALED(status):
        return -os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


def _send(channel: socket.socket, message: dict[str, Any]) -> None:
    channel.sendall(json.dumps(message).encode() + b"\n")


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError, AttributeError):
            stream.flush()


if __name__ == "__main__":
    raise SystemExit(main(int(sys.argv[1]), json.loads(sys.argv[2])))
