"""A loopback stand-in for what Lambda gives each invocation: its own project folder and its own network.

Lambda itself cannot run here, so the Invoke stand-in (tests/aws/lambda_standin.py) imitates its
sandboxes on this machine. On Lambda every sandbox has its own copy of the task root and its own
network: two invocations running at the same time can both start a web server on the same fixed port
(Playwright's `webServer: {port: 39417}`) and never see each other's files. Here:

* `project_copy` gives each invocation a fresh copy of the project folder (node_modules linked to the
  original, `.git` and result folders left out), removed afterwards;
* `show_project_at` shows that copy at one fixed path in a mount namespace of the worker's own, as
  every Lambda sandbox finds its task root at /var/task (Playwright records absolute test folders in
  its blob reports, and merging them needs the same folder in every unit);
* `enter_own_network` moves the worker process into a new network namespace with only its own
  loopback up. The invocation must still reach the loopback services that play AWS (moto's S3 on the
  host's 127.0.0.1:<port>), so before unsharing the worker forks a relay that stays in the host's
  namespace, joined to it by an AF_UNIX socketpair. Inside the namespace the worker listens on the
  same addresses and ports; each connection it accepts is handed to the relay as a file descriptor
  (SCM_RIGHTS), and the relay connects to the real service on the host and pipes bytes both ways. No
  routable address is created: only the loopback of each namespace and a socketpair are used.

Without namespaces (not root, or unshare refused) invocations share the host's network and run in
their copy's own path; the stand-in says so once on stderr.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import fcntl
import functools
import ipaddress
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

SKIPPED = frozenset({".git", "hypertest-results", "test-results"})  # never copied into a sandbox
LINKED = frozenset({"node_modules"})  # linked to the original (large, and only read)

CLONE_NEWNET = 0x40000000
CLONE_NEWNS = 0x00020000
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x40000
SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1
PR_SET_PDEATHSIG = 1

POLL_S = 0.25  # how often waiting loops look at whether they should stop
CONNECT_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0
_INDEX = struct.Struct("!H")


# --- the project folder ---------------------------------------------------------------------------

def copy_project(source: Path, target: Path) -> None:
    """Copy the folder source to target (which must not exist) as a sandbox's own project folder.

    `node_modules` folders become links to the originals; `.git`, `hypertest-results` and
    `test-results` are left out; other links are copied as links; sockets and pipes are skipped.
    """
    target.mkdir()
    with os.scandir(source) as entries:
        for entry in entries:
            if entry.name in SKIPPED:
                continue
            destination = target / entry.name
            if entry.name in LINKED:
                destination.symlink_to(Path(entry.path).absolute())
            elif entry.is_symlink():
                destination.symlink_to(Path(entry.path).readlink())
            elif entry.is_dir(follow_symlinks=False):
                copy_project(Path(entry.path), destination)
            elif entry.is_file(follow_symlinks=False):
                shutil.copy2(entry.path, destination)
    shutil.copystat(source, target)


@contextmanager
def project_copy(source: Path) -> Iterator[Path]:
    """A fresh copy of source (same folder name) in a new temporary folder, removed after the block."""
    parent = Path(tempfile.mkdtemp(prefix="ht-sandbox-"))
    try:
        target = parent / source.name
        copy_project(source, target)
        yield target
    finally:
        shutil.rmtree(parent, ignore_errors=True)


def show_project_at(copy: Path, at: Path) -> bool:
    """Enter a mount namespace of this process's own where the empty folder `at` shows `copy`; work there.

    Changes the working folder and HT_PROJECT_ROOT to `at`; children started later see the same.
    Returns False, after saying why on stderr, when mount namespaces are not available: the process
    then stays in copy.
    """
    try:
        _unshare(CLONE_NEWNS)
        _libc("mount", b"none", b"/", None, MS_REC | MS_PRIVATE, None)  # nothing leaks out to the host
        _libc("mount", os.fsencode(copy), os.fsencode(at), None, MS_BIND | MS_REC, None)
    except OSError as exc:
        sys.stderr.write(f"lambda stand-in: cannot show the project copy at {at} ({exc}); it runs in {copy}\n")
        return False
    os.chdir(at)
    os.environ["HT_PROJECT_ROOT"] = str(at)
    return True


# --- which loopback services an invocation needs --------------------------------------------------

class Endpoint(NamedTuple):
    """A loopback service on the host that the invocation's own network must still reach."""

    host: str  # "127.0.0.1", another 127.x address, "::1" or "localhost"
    port: int

    def text(self) -> str:
        """HOST:PORT, the form `parse_endpoint` reads (IPv6 hosts in brackets)."""
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_endpoint(text: str) -> Endpoint:
    """An Endpoint from HOST:PORT (`[::1]:PORT` for IPv6)."""
    host, _, port = text.rpartition(":")
    return Endpoint(host.strip("[]"), int(port))


def is_loopback(host: str) -> bool:
    """Whether host names this machine's loopback interface."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def loopback_endpoints(urls: Iterable[str]) -> list[Endpoint]:
    """The loopback host:port of each URL (others are left out), without repeats, in order."""
    found: list[Endpoint] = []
    for url in urls:
        parts = urllib.parse.urlsplit(url)
        try:
            port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
        except ValueError:
            continue
        if parts.hostname and port and is_loopback(parts.hostname):
            endpoint = Endpoint(parts.hostname.lower(), port)
            if endpoint not in found:
                found.append(endpoint)
    return found


def invocation_endpoints(event: Mapping[str, Any], env: Mapping[str, str], extra: Iterable[str] = ()
                         ) -> list[Endpoint]:
    """The loopback services one invocation talks to.

    These are the URLs in extra, the artifact store's `endpointUrl` in the payload, and every
    `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>` of the environment and of the payload's `env`.
    """
    urls = list(extra)
    artifacts = event.get("artifacts")
    if isinstance(artifacts, Mapping) and isinstance(artifacts.get("endpointUrl"), str):
        urls.append(artifacts["endpointUrl"])
    payload_env = event.get("env")
    for source in (env, payload_env if isinstance(payload_env, Mapping) else {}):
        urls.extend(str(value) for key, value in source.items()
                    if key == "AWS_ENDPOINT_URL" or key.startswith("AWS_ENDPOINT_URL_"))
    return loopback_endpoints(urls)


# --- whether this machine can give an invocation its own network ----------------------------------

@functools.cache
def namespaces_available() -> bool:
    """Whether a process here can get network and mount namespaces of its own (asked once, in a child).

    When it cannot, says so once on stderr: invocations then share the host's network.
    """
    try:
        probe = subprocess.run([sys.executable, __file__, "--probe"], capture_output=True, text=True,
                               timeout=30, check=False)
        problem = "" if probe.returncode == 0 else (probe.stderr.strip().splitlines() or ["probe failed"])[-1]
    except (OSError, subprocess.TimeoutExpired) as exc:
        problem = str(exc)
    if problem:
        sys.stderr.write(f"lambda stand-in: no namespaces here ({problem}); invocations share the host's "
                         "network, so two of them cannot use the same port at the same time\n")
    return not problem


def _probe() -> int:
    try:
        _unshare(CLONE_NEWNET | CLONE_NEWNS)
        _libc("mount", b"none", b"/", None, MS_REC | MS_PRIVATE, None)
        _bring_loopback_up()
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
    except OSError as exc:
        sys.stderr.write(f"{exc}\n")
        return 1
    return 0


# --- the invocation's own network ------------------------------------------------------------------

class OwnNetwork:
    """The worker's side of its own network: the listeners inside it and the relay outside."""

    def __init__(self, control: socket.socket, relay_pid: int) -> None:
        self.control = control
        self.relay_pid = relay_pid
        self.listeners: list[socket.socket] = []
        self.threads: list[threading.Thread] = []
        self.stopping = threading.Event()
        self.send_lock = threading.Lock()

    def listen(self, endpoints: list[Endpoint]) -> None:
        """Listen inside the namespace on every endpoint's address and port, handing connections out."""
        for index, endpoint in enumerate(endpoints):
            hosts = ["127.0.0.1", "::1"] if endpoint.host == "localhost" else [endpoint.host]
            for host in hosts:
                family = socket.AF_INET6 if ":" in host else socket.AF_INET
                listener = socket.socket(family, socket.SOCK_STREAM)
                try:
                    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    listener.bind((host, endpoint.port))
                    listener.listen(128)
                except OSError:
                    listener.close()
                    if endpoint.host == "localhost" and host == "::1":
                        continue  # no IPv6 here: 127.0.0.1 serves "localhost"
                    raise
                listener.settimeout(POLL_S)
                self.listeners.append(listener)
                thread = threading.Thread(target=self._accept, args=(listener, index), daemon=True,
                                          name=f"sandbox-accept-{endpoint.port}")
                thread.start()
                self.threads.append(thread)

    def _accept(self, listener: socket.socket, index: int) -> None:
        while not self.stopping.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # the listener was shut down
            with connection:
                try:
                    with self.send_lock:
                        socket.send_fds(self.control, [_INDEX.pack(index)], [connection.fileno()])
                except OSError:
                    return  # the relay is gone: the connection is refused by closing it

    def close(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """Stop listening, let the relay go (its end of the socketpair closes) and reap it."""
        self.stopping.set()
        for listener in self.listeners:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)  # wakes a blocked accept() on Linux
        for thread in self.threads:
            thread.join(timeout=timeout_s)
        for listener in self.listeners:
            listener.close()
        self.control.close()
        _reap(self.relay_pid, timeout_s)


def enter_own_network(endpoints: list[Endpoint], lifetime_s: float) -> OwnNetwork | None:
    """Move this process into a new network namespace with only loopback, relaying endpoints to the host.

    Call it while the process has a single thread, before starting anything that should live in the
    new network (children started later inherit it). The relay lives at most lifetime_s and ends
    when `close()` is called or this process dies. Returns None when namespaces are not available,
    after saying why on stderr: the process then keeps the host's network.
    """
    control, relay_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    parent = os.getpid()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the relay: stays in the host's network
        code = 0
        try:
            control.close()
            _relay(relay_end, endpoints, parent, lifetime_s)
        except BaseException:  # a forked child must never return into the caller's code
            code = 1
        finally:
            os._exit(code)
    relay_end.close()
    network = OwnNetwork(control, pid)
    try:
        host_namespace: int | None = os.open("/proc/self/ns/net", os.O_RDONLY)
    except OSError:
        host_namespace = None
    try:
        try:
            _unshare(CLONE_NEWNET)
        except OSError as exc:
            network.close()
            sys.stderr.write(f"lambda stand-in: no network namespace for this invocation ({exc}); "
                             "it shares the host's network\n")
            return None
        try:
            _bring_loopback_up()
            network.listen(endpoints)
        except BaseException:
            network.close()
            if host_namespace is not None:
                _libc("setns", host_namespace, CLONE_NEWNET)  # back to the host's network, whole
            raise
    finally:
        if host_namespace is not None:
            os.close(host_namespace)
    return network


def _relay(control: socket.socket, endpoints: list[Endpoint], parent: int, lifetime_s: float) -> None:
    """Receive connections from the namespace and join each to its service on the host, until told to end."""
    with contextlib.suppress(OSError):
        _libc("prctl", PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        return
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)  # the invocation's result goes to stdout: never hold it open
    os.close(devnull)
    control.settimeout(POLL_S)
    deadline = time.monotonic() + lifetime_s
    while time.monotonic() < deadline:
        try:
            message, fds, _, _ = socket.recv_fds(control, 64, 4)
        except TimeoutError:
            if os.getppid() != parent:
                return
            continue
        except OSError:
            return
        if not message and not fds:
            return  # the worker closed its end: the invocation is over
        index = _INDEX.unpack(message[:_INDEX.size])[0] if len(message) >= _INDEX.size else -1
        for fd in fds:
            client = socket.socket(fileno=fd)
            if not 0 <= index < len(endpoints) or len(fds) != 1:
                client.close()
                continue
            threading.Thread(target=_join, args=(client, endpoints[index], max(1.0, deadline - time.monotonic())),
                             daemon=True).start()


def _join(client: socket.socket, endpoint: Endpoint, idle_s: float) -> None:
    try:
        upstream = socket.create_connection((endpoint.host, endpoint.port), timeout=CONNECT_TIMEOUT_S)
    except OSError:
        client.close()  # as if the service refused the connection
        return
    client.settimeout(idle_s)
    upstream.settimeout(idle_s)
    remaining = [2]
    lock = threading.Lock()

    def pump(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
            target.shutdown(socket.SHUT_WR)
        except OSError:
            for sock in (source, target):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
        with lock:
            remaining[0] -= 1
            if remaining[0] == 0:
                client.close()
                upstream.close()

    threading.Thread(target=pump, args=(upstream, client), daemon=True).start()
    pump(client, upstream)


def _reap(pid: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return
        if done:
            return
        time.sleep(0.01)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)  # SIGKILL cannot be ignored: this returns at once


def _libc(name: str, *args: int | bytes | None) -> int:
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    result = int(getattr(libc, name)(*args))
    if result == -1:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{name}: {os.strerror(errno)}")
    return result


def _unshare(flags: int) -> None:
    unshare = getattr(os, "unshare", None)  # Python 3.12; ctypes on 3.11
    if unshare is not None:
        unshare(flags)
    else:
        _libc("unshare", flags)


def _bring_loopback_up() -> None:
    """Set IFF_UP on `lo` of the current namespace (it has 127.0.0.1 and ::1 from the start)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH", b"lo", 0).ljust(40, b"\0")
        flags = struct.unpack_from("16sH", fcntl.ioctl(sock, SIOCGIFFLAGS, request))[1]
        if not flags & IFF_UP:
            fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sH", b"lo", flags | IFF_UP).ljust(40, b"\0"))


if __name__ == "__main__" and sys.argv[1:] == ["--probe"]:
    sys.exit(_probe())
