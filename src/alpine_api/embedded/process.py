"""Process helpers shared by the embedded servers: free ports, children that die with
this process, orderly stops, and whether an unprivileged user can reach a path."""

from __future__ import annotations

import contextlib
import ctypes
import os
import socket
import stat
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

_PR_SET_PDEATHSIG = 1


class EmbeddedError(RuntimeError):
    """An embedded server could not be started."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def die_with_parent(sig: int) -> Callable[[], None]:
    def preexec() -> None:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0)
        os.setpgrp()  # Ctrl-C in a terminal reaches us, and we stop the server in order

    return preexec


def spawn(
    command: list[str], log_path: Path, *, sig: int, cwd: Path | str = "/", **options: Any
) -> subprocess.Popen[bytes]:
    """Start a server as a child that gets `sig` when this process dies, its output
    appended to `log_path`; `options` go to Popen (user and group to drop root)."""
    with open(log_path, "ab") as log:  # the child has its own copy of the descriptor
        return subprocess.Popen(
            command, stdout=log, stderr=log, cwd=cwd, preexec_fn=die_with_parent(sig), **options
        )


class ChildServer:
    """A server run as a child of this process (`spawn`), ready once `ready` answers True
    and stopped by a signal. Subclasses name it and say how long a poll waits."""

    name: str  # in error messages
    poll_seconds: float  # between two `ready` calls while it starts
    not_ready: str  # the error when it is not ready in time
    log_in_errors = True  # an early exit quotes the end of the server's log
    proc: subprocess.Popen[bytes] | None = None

    def ready(self) -> bool:
        raise NotImplementedError

    def _launch(
        self, command: list[str], log_path: Path, *, sig: int, timeout: float, **options: Any
    ) -> None:
        """`spawn` the server, then wait until it is ready: EmbeddedError when it exits
        first or is not ready within `timeout` seconds."""
        self.proc = spawn(command, log_path, sig=sig, **options)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                detail = ""
                if self.log_in_errors:
                    detail = ":\n" + log_path.read_text(errors="replace")[-2000:]
                raise EmbeddedError(f"{self.name} exited with {self.proc.returncode}{detail}")
            if self.ready():
                return
            if time.monotonic() > deadline:
                raise EmbeddedError(self.not_ready)
            time.sleep(self.poll_seconds)

    def _halt(self, sig: int, timeout: float) -> None:
        if self.proc is not None:
            stop_process(self.proc, sig, timeout)
            self.proc = None


def listens(port: int, hello: bytes = b"", answers: tuple[bytes, ...] = ()) -> bool:
    """True when 127.0.0.1:`port` accepts a connection and, given `hello`, answers it
    with a reply starting with one of `answers`."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            if not hello:
                return True
            sock.sendall(hello)
            return sock.recv(64).startswith(answers)
    except OSError:
        return False


def reachable_by(path: Path, uid: int) -> bool:
    """True when every directory down to `path` lets `uid` traverse it."""
    for part in [path, *path.parents]:
        try:
            st = part.stat()
        except FileNotFoundError:
            continue
        needed = stat.S_IXUSR if st.st_uid == uid else stat.S_IXOTH
        if not st.st_mode & needed:
            return False
    return True


def stop_process(proc: subprocess.Popen[bytes], sig: int, timeout: float) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
