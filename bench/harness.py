"""Shared benchmark machinery: a real stack (embedded PostgreSQL + Valkey + `serve`) and
a wrk driver that returns req/s and latency percentiles.

Nothing here is used by the tests; `bench/` scripts import it.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx
import psycopg

from alpine_api.db import migrate
from alpine_api.embedded import EmbeddedPostgres, EmbeddedValkey, free_port

JWT_SECRET = "bench-secret-" + "b" * 40
# A rate limit no benchmark reaches (its cost is still paid), and every policy set to it.
UNLIMITED = "1000000000/1"
NO_LIMITS = {
    f"ALPINE_{name}": UNLIMITED
    for name in ("RATE_LIMIT", "RATE_LIMIT_PRO", "RATE_LIMIT_ELITE", "AUTH_RATE_LIMIT")
}
RESULTS_DIR = Path(__file__).resolve().parent / "results"


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores, {cpu}, {mem:.0f} GiB, {platform.system()} {platform.release()}"


def ensure_wrk() -> str:
    path = shutil.which("wrk")
    if path:
        return path
    subprocess.run(["apt-get", "install", "-y", "wrk"], check=True, capture_output=True)
    return shutil.which("wrk") or "wrk"


@dataclass
class WrkResult:
    name: str
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int  # socket errors + non-2xx/3xx responses
    requests: int


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if not match:
        raise ValueError(text)
    return float(match.group(1)) * _UNITS[match.group(2)]


def wrk(
    name: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    connections: int = 32,
    seconds: int = 5,
    script: Path | None = None,
    script_args: list[str] | None = None,
) -> WrkResult:
    """Run wrk; errors are socket errors plus non-2xx/3xx answers, unless the script
    prints its own count as "mix errors: N" (for mixes where a 404 is a right answer)."""
    command = [ensure_wrk(), "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for key, value in (headers or {}).items():
        command += ["-H", f"{key}: {value}"]
    if script is not None:
        command += ["-s", str(script)]
    command.append(url)
    if script_args:
        command += ["--", *script_args]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    errors = 0
    if (m := re.search(r"mix errors: (\d+)", out)) or (
        m := re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    ):
        errors += int(m.group(1))
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
        errors += sum(int(x) for x in m.groups())
    return WrkResult(name, rps, p50, p99, errors, total)


def median_of(runs: list[WrkResult]) -> WrkResult:
    return WrkResult(
        runs[0].name,
        statistics.median(r.requests_per_second for r in runs),
        statistics.median(r.p50_ms for r in runs),
        statistics.median(r.p99_ms for r in runs),
        sum(r.errors for r in runs),
        sum(r.requests for r in runs),
    )


@dataclass
class Stack:
    database_url: str
    redis_url: str
    postgres: EmbeddedPostgres
    valkey: EmbeddedValkey
    root: Path

    def env(self, **overrides: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ALPINE_")}
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        env.update(
            ALPINE_DATABASE_URL=self.database_url,
            ALPINE_REDIS_URL=self.redis_url,
            ALPINE_JWT_SECRET=JWT_SECRET,
            ALPINE_LOG_FORMAT="json",
        )
        env.update(overrides)
        return env


@contextmanager
def stack(data_dir: Path | None = None) -> Iterator[Stack]:
    """Embedded PostgreSQL + Valkey with the schema applied; stopped on exit."""
    root = data_dir or Path(tempfile.mkdtemp(prefix="alpine-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o755)
    postgres = EmbeddedPostgres(root / "postgres")
    valkey = EmbeddedValkey(root / "valkey")
    postgres.start()
    valkey.start("--maxmemory", "2gb")
    try:
        url = postgres.ensure_database("alpine")
        migrate.apply(url)
        yield Stack(url, valkey.url, postgres, valkey, root)
    finally:
        valkey.stop()
        postgres.stop()


def answers(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> bool:
    """Wait until `url` answers 200; False if `proc` exits or `timeout` passes first."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    return False


@contextmanager
def server(st: Stack, workers: int = 2, **env: str) -> Iterator[str]:
    """`alpine-api serve --workers N` on a free port; yields its base URL."""
    port = free_port()
    log = open(st.root / f"serve-{port}.log", "wb")  # noqa: SIM115 - the child owns it
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "alpine_api.cli",
            "serve",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        env=st.env(**env),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        if not answers(f"{url}/health", proc):
            raise RuntimeError((st.root / f"serve-{port}.log").read_text())
        time.sleep(1.0)  # let every worker finish its start-up
        yield url
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()


def worker_pids(server_url: str) -> list[int]:
    """PIDs of the Granian workers serving on `server_url`'s port."""
    port = server_url.rsplit(":", 1)[1]
    out = subprocess.run(
        ["ss", "-ltnpH", f"sport = :{port}"], capture_output=True, text=True
    ).stdout
    return sorted({int(pid) for pid in re.findall(r"pid=(\d+)", out)})


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def admin_connection(st: Stack) -> psycopg.Connection:
    return psycopg.connect(st.database_url, autocommit=True)


def write_results(name: str, payload: dict[str, object], markdown: str) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = RESULTS_DIR / f"{name}-{stamp}.json"
    path.write_text(json.dumps(payload, indent=2, default=lambda o: asdict(o)))
    (RESULTS_DIR / f"{name}-{stamp}.md").write_text(markdown)
    return path


def table(rows: list[WrkResult], baseline: WrkResult | None = None) -> str:
    lines = [
        "| scenario | req/s | vs baseline | p50 ms | p99 ms | errors |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        ratio = f"{r.requests_per_second / baseline.requests_per_second:.2f}" if baseline else "-"
        cells = [r.name, f"{r.requests_per_second:,.0f}", ratio, f"{r.p50_ms:.2f}"]
        cells += [f"{r.p99_ms:.2f}", str(r.errors)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
