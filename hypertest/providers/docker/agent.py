"""The emulator's agent inside a sandbox container: the loopback ports the sandbox may reach, then the image's
own entry point.

The container has no network but its own loopback. Before the image's entry point starts, the agent
listens on each loopback address the run needs (the Runtime API's, and those of the services that play
AWS, such as an S3 endpoint) and relays every connection to a Unix socket that the host bind-mounts
into the container; the host's end serves the Runtime API or connects on to the service. Then the
agent replaces itself with the image's entry point (awslambdaric), leaving a relay process behind.

    python3 agent.py --forward 127.0.0.1:9001=/ht/sockets/0.sock [--forward ...] -- ENTRYPOINT... CMD...

Only the standard library: the file is mounted on its own into images that know nothing of hypertest.
The host imports `relay_connections` from it for its own end.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import threading
from collections.abc import Callable

BUFFER = 65536


def pipe(source: socket.socket, target: socket.socket) -> None:
    """Copy bytes from source to target until source ends; then end target's writing side."""
    try:
        while True:
            data = source.recv(BUFFER)
            if not data:
                break
            target.sendall(data)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)


def relay(connection: socket.socket, connect: Callable[[], socket.socket]) -> None:
    """Join connection to a new connection from connect(), both ways, until both sides end."""
    with connection:
        try:
            upstream = connect()
        except OSError:
            return
        with upstream:
            back = threading.Thread(target=pipe, args=(upstream, connection), daemon=True)
            back.start()
            pipe(connection, upstream)
            back.join()


def relay_connections(listener: socket.socket, connect: Callable[[], socket.socket],
                      stopping: threading.Event | None = None) -> None:
    """Accept on listener until it is closed (or stopping is set), relaying each connection to connect()."""
    while stopping is None or not stopping.is_set():
        try:
            connection, _ = listener.accept()
        except TimeoutError:
            continue
        except OSError:
            return
        threading.Thread(target=relay, args=(connection, connect), daemon=True).start()


def _unix_connector(path: str) -> Callable[[], socket.socket]:
    def connect() -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(path)
        except OSError:
            sock.close()
            raise
        return sock

    return connect


def _listen(address: str) -> socket.socket:
    host, _, port = address.rpartition(":")
    host = host.strip("[]")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, int(port)))
    listener.listen(64)
    return listener


def main(argv: list[str]) -> int:
    """Listen, fork the relay, exec the entry point."""
    if "--" not in argv:
        sys.stderr.write("hypertest emulator agent: usage: agent.py --forward ADDR=SOCKET ... -- COMMAND...\n")
        return 2
    split = argv.index("--")
    options, command = argv[:split], argv[split + 1:]
    forwards = [options[i + 1] for i, item in enumerate(options[:-1]) if item == "--forward"]
    if not command:
        sys.stderr.write("hypertest emulator agent: the image has no entry point or command to run\n")
        return 2
    routes = []
    for forward in forwards:
        address, _, path = forward.partition("=")
        try:
            routes.append((_listen(address), path))
        except OSError as exc:
            sys.stderr.write(f"hypertest emulator agent: cannot listen on {address}: {exc}\n")
            return 2
    sys.stdout.flush()
    sys.stderr.flush()
    if os.fork() == 0:  # the relay: lives as long as the container
        os.setsid()
        threads = [threading.Thread(target=relay_connections, args=(listener, _unix_connector(path)), daemon=True)
                   for listener, path in routes]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        os._exit(0)
    for listener, _ in routes:
        listener.close()
    try:
        os.execvp(command[0], command)  # noqa: S606 - the image's own entry point, as Lambda starts it
    except OSError as exc:
        sys.stderr.write(f"hypertest emulator agent: cannot start the image's entry point {command[0]!r}: {exc}\n")
    return 127


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
