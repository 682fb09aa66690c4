"""`alpine-api dev`, `serve` and `verify`: the server under Granian, with embedded
PostgreSQL and Valkey for `dev`, and the outside check of a running deployment."""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from alpine_api.cli.common import DEV_EXTRA, ensure_admin, fail, require_dev_extra, settings_or_fail


def _secret_file(path: Path, make: str) -> str:
    """Read a generated secret kept in the data dir, creating it on first use."""
    if not path.exists():
        path.write_text(make + "\n")
        path.chmod(0o600)
    return path.read_text().strip()


@contextmanager
def metrics_dir() -> Iterator[None]:
    """An empty multiprocess metrics directory for this server's workers, removed afterwards."""
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if given:
        shutil.rmtree(given, ignore_errors=True)  # old workers' files would be summed in
        Path(given).mkdir(parents=True)
        yield
        return
    path = tempfile.mkdtemp(prefix="alpine-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    try:
        yield
    finally:
        shutil.rmtree(path, ignore_errors=True)
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)


WORKER_CONCURRENCY = 4096


def _serve(host: str, port: int, workers: int) -> None:
    """Run Granian in this process until SIGINT / SIGTERM (it stops workers gracefully)."""
    from granian import Granian
    from prometheus_client import multiprocess

    from alpine_api.logging import LogFormat, granian_log_config

    # Settings are loaded and checked by now: ALPINE_LOG_FORMAT is json or text.
    log_format: LogFormat = "text" if os.environ.get("ALPINE_LOG_FORMAT") == "text" else "json"
    # Granian forks its workers from this process: its own metric files are not a worker's.
    multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]
    Granian(
        "alpine_api.asgi:app",
        address=host,
        port=port,
        interface="asgi",  # type: ignore[arg-type]
        workers=workers,
        loop="uvloop",  # type: ignore[arg-type]
        workers_kill_timeout=30,
        # Requests one worker serves at once. Granian's default (backlog / workers, 512
        # with 2 workers) counts every open event stream, so a worker holding 512 streams
        # would accept connections it never serves.
        backpressure=WORKER_CONCURRENCY,
        log_access=False,
        log_dictconfig=granian_log_config(log_format),
    ).serve()


def _export(settings_env: dict[str, str]) -> None:
    """Workers read their settings from the environment they inherit."""
    os.environ.update(settings_env)


def cmd_dev(args: argparse.Namespace) -> None:
    require_dev_extra("dev", *DEV_EXTRA)
    from alpine_api.db import migrate
    from alpine_api.embedded import EmbeddedPostgres, EmbeddedValkey

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the cleanup below
    data_dir = Path(args.data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    defaults = {
        "ALPINE_JWT_SECRET": _secret_file(data_dir / "jwt-secret", secrets.token_urlsafe(48)),
        "ALPINE_ADMIN_PASSWORD": _secret_file(
            data_dir / "admin-password", secrets.token_urlsafe(12)
        ),
        "ALPINE_LOG_FORMAT": "text",
    }
    with ExitStack() as stack:
        if not os.environ.get("ALPINE_DATABASE_URL"):
            postgres = EmbeddedPostgres(data_dir / "postgres")
            postgres.start()
            stack.callback(postgres.stop)
            defaults["ALPINE_DATABASE_URL"] = postgres.ensure_database("alpine")
        if not os.environ.get("ALPINE_REDIS_URL"):
            valkey = EmbeddedValkey(data_dir / "valkey")
            valkey.start()
            stack.callback(valkey.stop)
            defaults["ALPINE_REDIS_URL"] = valkey.url
        settings = settings_or_fail(defaults)
        _export({k: v for k, v in defaults.items() if not os.environ.get(k)})
        applied = migrate.apply(settings.database_url)
        if applied:
            print(f"applied {len(applied)} migration(s)")
        _load_demo_data(settings.database_url)
        asyncio.run(ensure_admin(settings, settings.admin_email, settings.admin_password))
        url = f"http://{args.host}:{args.port}"
        print(
            f"\nalpine-api dev: {url}  (docs: {url}/schema)\n"
            f"  admin: {settings.admin_email} / {settings.admin_password}\n"
            f"  data:  {data_dir}\n  Ctrl-C stops everything.\n",
            flush=True,
        )
        _serve(args.host, args.port, args.workers)


def _load_demo_data(database_url: str) -> None:
    """First run of `dev` (no signals yet): a small demo data set."""
    from alpine_api.seed import SEED_PASSWORD, seed_demo_if_empty

    counts = asyncio.run(seed_demo_if_empty(database_url))
    if counts is not None:
        print(
            f"loaded demo data: {counts.users} users (password {SEED_PASSWORD!r}), "
            f"{counts.signals} signals, {counts.notifications} notifications"
        )


def cmd_serve(args: argparse.Namespace) -> None:
    settings = settings_or_fail()
    if not settings.jwt_secret:
        fail("ALPINE_JWT_SECRET: not set; serve needs an HMAC key of at least 32 bytes")
    _serve(args.host, args.port, args.workers)


def cmd_verify(args: argparse.Namespace) -> None:
    from alpine_api.probes import Prober
    from alpine_api.verify import report

    origin = args.origin
    if origin is None:
        configured = os.environ.get("ALPINE_CORS_ORIGINS", "").split(",")[0].strip()
        origin = configured or "http://localhost:3000"
    password = args.password or os.environ.get("ALPINE_VERIFY_PASSWORD")
    verifier = Prober(
        args.url,
        origin=origin,
        token=args.token,
        email=args.email,
        password=password,
        log_path=args.log,
    )
    if not report(args.url, verifier.run(), sys.stdout):
        raise SystemExit(1)
