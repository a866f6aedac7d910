"""What `news-comments serve` checks before it starts anything: one server per folder, and a
port that no other program holds. The gunicorn settings use the port check too."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import socket
from collections.abc import Iterator
from pathlib import Path


class CannotServe(Exception):
    """The service cannot start here; the message says why, in one line."""


@contextlib.contextmanager
def run_lock(var_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on `var_dir` (var/run.lock) for as long as the server runs."""
    var_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    lock_path = var_dir / "run.lock"
    descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise CannotServe(
                f"Another `news-comments serve` (make run) is already running from this folder "
                f"({lock_path} is locked); stop it first."
            ) from None
        yield
    finally:
        os.close(descriptor)


def check_address_free(host: str, port: int) -> None:
    """Refuse, in one line, an address some program already listens on."""
    try:
        infos = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as error:
        raise CannotServe(f"Cannot listen on {host}:{port}: {error.strerror}.") from None
    family, kind, protocol, _, address = infos[0]
    with socket.socket(family, kind, protocol) as probe:
        # Like gunicorn: an old connection's TIME_WAIT does not count, a listener does.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise CannotServe(
                    f"Port {port} on {host} is already in use by another program; "
                    f"stop it, or set PORT to another port."
                ) from None
            raise CannotServe(f"Cannot listen on {host}:{port}: {error.strerror}.") from None
