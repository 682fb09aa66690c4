"""The `alpine-api` command line: dev, serve, migrate, seed, create-admin."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from alpine_api.cli.database import cmd_create_admin, cmd_migrate, cmd_seed
from alpine_api.cli.server import cmd_dev, cmd_serve, cmd_verify, metrics_dir


def _count(raw: str) -> int:
    value = int(raw)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


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
            with metrics_dir():
                args.func(args)
        else:
            args.func(args)
    except KeyboardInterrupt:
        pass
