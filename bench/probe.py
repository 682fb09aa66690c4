"""Replay the hostile-input probes (RELIABILITY.md, items 1-9) against a running deployment.

    uv run python -m bench.probe URL [--email E --password P]
        [--admin-email A --admin-password Q] [--jwt-secret S] [--log FILE]

Prints PASS, FAIL or SKIP per item and exits 1 if any failed. Probes that need what was
not given are skipped: 6 (deactivation) admin credentials, 7 (a signed token whose `sub`
exceeds int64) the JWT secret, 8's log check the server's log file, 9's login a user's
credentials. It writes to the deployment: 6 registers `probe-<hex>@probe.invalid` and
leaves it deactivated; 9 tries to register a full-width spelling of the admin's email
(refused with 409 when the service is right). Uses about 8 of the login/register budget
per IP (10 per 60 s by default).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

from alpine_api.probes import Prober
from alpine_api.verify import report


class HostileProber(Prober):
    """Runs only the hostile-input probes, in item order."""

    def checks(self) -> list[tuple[str, Callable[[], str]]]:
        return self.hostile_checks()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.probe", description=__doc__)
    parser.add_argument("url")
    parser.add_argument("--origin", default="http://localhost:3000")
    parser.add_argument("--email", help="a user to log in as (item 9)")
    parser.add_argument("--password", help="with --email (or ALPINE_PROBE_PASSWORD)")
    parser.add_argument("--admin-email", help="an admin (items 6 and 9)")
    parser.add_argument(
        "--admin-password", help="with --admin-email (or ALPINE_PROBE_ADMIN_PASSWORD)"
    )
    parser.add_argument("--jwt-secret", help="the service's ALPINE_JWT_SECRET (item 7)")
    parser.add_argument("--log", help="the service's log file (item 8)")
    args = parser.parse_args(argv)
    prober = HostileProber(
        args.url,
        origin=args.origin,
        email=args.email,
        password=args.password or os.environ.get("ALPINE_PROBE_PASSWORD"),
        admin_email=args.admin_email,
        admin_password=args.admin_password or os.environ.get("ALPINE_PROBE_ADMIN_PASSWORD"),
        jwt_secret=args.jwt_secret or os.environ.get("ALPINE_JWT_SECRET"),
        log_path=args.log,
    )
    if not report(args.url, prober.run(), sys.stdout):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
