"""The Prometheus rules under deploy/prometheus/: promtool checks them and runs their unit
tests, every alert has a firing and a quiet case and a runbook section, the unit tests fail
when a rule is wrong, and compose.scale.yaml runs Prometheus with them."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PROMETHEUS = ROOT / "deploy" / "prometheus"
RULE_FILES = sorted((PROMETHEUS / "rules").glob("*.yml"))
RULE_TESTS = sorted((PROMETHEUS / "tests").glob("*_test.yml"))
RUNBOOK = "docs/runbook.md"


def promtool(*args: str, cwd: Path = PROMETHEUS) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("promtool")
    if binary is None:
        pytest.skip("promtool is missing (Debian: apt-get install prometheus; .ci/run does)")
    return subprocess.run(
        [binary, *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def show(capsys: pytest.CaptureFixture[str], title: str, text: str) -> None:
    """Into the test log whatever pytest's flags: the tool's own verdict is the evidence."""
    with capsys.disabled():
        print(f"\n--- {title}\n{text.rstrip()}")


def alerts() -> list[dict[str, Any]]:
    found = []
    for path in RULE_FILES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            found += [rule for rule in group["rules"] if "alert" in rule]
    return found


def test_rule_files_pass_promtool_check(capsys: pytest.CaptureFixture[str]) -> None:
    result = promtool("check", "rules", *map(str, RULE_FILES))
    show(capsys, "promtool check rules", result.stdout + result.stderr)
    assert result.returncode == 0
    assert len(alerts()) >= 9


def test_promtool_check_rejects_a_broken_rule(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: rate(x[5m]\n")
    result = promtool("check", "rules", str(bad))
    assert result.returncode != 0
    assert "FAILED" in result.stdout + result.stderr


def test_rule_unit_tests_pass(capsys: pytest.CaptureFixture[str]) -> None:
    result = promtool("test", "rules", *map(str, RULE_TESTS))
    show(capsys, "promtool test rules", result.stdout + result.stderr)
    assert result.returncode == 0


def test_every_alert_has_a_firing_and_a_quiet_case(capsys: pytest.CaptureFixture[str]) -> None:
    firing: dict[str, int] = defaultdict(int)
    quiet: dict[str, int] = defaultdict(int)
    for path in RULE_TESTS:
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                name = check["alertname"]
                if check.get("exp_alerts"):
                    firing[name] += 1
                else:
                    quiet[name] += 1
    names = [rule["alert"] for rule in alerts()]
    table = "\n".join(f"{n:40} fires in {firing[n]}, quiet in {quiet[n]}" for n in names)
    show(capsys, "alert unit-test cases", table)
    for name in names:
        assert firing[name] >= 1, f"{name} has no case where it fires"
        assert quiet[name] >= 1, f"{name} has no case where it stays quiet"


# What a wrong rule looks like, and the unit-test file that must then fail.
MUTATIONS = [
    # a page threshold ten times too high: a 5% error rate would no longer page
    (
        "rules/alerts.yml",
        "ratio_rate1h > 14.4 * 0.001",
        "ratio_rate1h > 14.4 * 0.01",
        "availability",
    ),
    # the latency SLI on a bucket the histogram does not have: nothing is ever "fast"
    ("rules/recording.yml", 'le="0.05"', 'le="0.04"', "latency"),
    # the wrong health verdict: fires while Redis is healthy
    ("rules/alerts.yml", 'check="redis"} == 0', 'check="redis"} == 1', "components"),
]


@pytest.mark.parametrize(("file", "good", "bad", "suite"), MUTATIONS)
def test_unit_tests_fail_on_a_wrong_rule(
    tmp_path: Path, file: str, good: str, bad: str, suite: str
) -> None:
    copy = tmp_path / "prometheus"
    shutil.copytree(PROMETHEUS, copy)
    text = (copy / file).read_text()
    assert good in text
    (copy / file).write_text(text.replace(good, bad))
    result = promtool("test", "rules", f"tests/{suite}_test.yml", cwd=copy)
    assert result.returncode != 0
    assert "FAILED" in result.stdout + result.stderr


def github_anchors(markdown: str) -> set[str]:
    """The anchors GitHub gives a document's headings (lower case, punctuation dropped,
    spaces to hyphens)."""
    anchors = set()
    for heading in re.findall(r"(?m)^#{1,6}\s+(.+?)\s*$", markdown):
        anchors.add(re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-"))
    return anchors


def missing_runbook_sections(rules: list[dict[str, Any]], markdown: str) -> list[str]:
    anchors = github_anchors(markdown)
    missing = []
    for rule in rules:
        url = rule.get("annotations", {}).get("runbook_url", "")
        page, _, anchor = url.partition("#")
        if page != RUNBOOK or anchor not in anchors or rule["alert"] not in markdown:
            missing.append(f"{rule['alert']}: {url or 'no runbook_url'}")
    return missing


def test_every_alert_links_an_existing_runbook_section() -> None:
    markdown = (ROOT / RUNBOOK).read_text()
    assert missing_runbook_sections(alerts(), markdown) == []


def test_the_runbook_check_notices_a_missing_section() -> None:
    markdown = "# Runbook\n\n### Redis unhealthy\n\nRedisUnhealthy means...\n"
    rules = [
        {"alert": "RedisUnhealthy", "annotations": {"runbook_url": f"{RUNBOOK}#redis-unhealthy"}},
        {"alert": "PoolFull", "annotations": {"runbook_url": f"{RUNBOOK}#pool-full"}},
        {"alert": "NoLink", "annotations": {}},
    ]
    assert missing_runbook_sections(rules, markdown) == [
        f"PoolFull: {RUNBOOK}#pool-full",
        "NoLink: no runbook_url",
    ]


def test_runbook_names_the_first_commands_and_levers_for_every_alert() -> None:
    markdown = (ROOT / RUNBOOK).read_text()
    sections = re.split(r"(?m)^### ", markdown.split("## Alerts", 1)[1].split("## Procedures")[0])
    for section in sections[1:]:
        assert "alpine-api verify" in section, section[:40]
        assert "alpine-api migrate list" in section, section[:40]
        assert "**Levers:**" in section, section[:40]
    for lever in (
        "ALPINE_CACHE_ENABLED",
        "ALPINE_RATE_LIMIT_ENABLED",
        "ALPINE_RATE_LIMIT_FAIL_OPEN",
    ):
        assert lever in markdown
    for procedure in ("### Deploy", "### Rollback", "### Migrations", "INVALID", "yoyo_lock"):
        assert procedure in markdown


# -- Prometheus in compose.scale.yaml --------------------------------------------------------
def test_scale_compose_runs_prometheus_over_every_replica_with_these_rules() -> None:
    services = yaml.safe_load((ROOT / "compose.scale.yaml").read_text())["services"]
    prometheus = services["prometheus"]
    assert prometheus["image"].startswith("prom/prometheus:v3")
    assert "./deploy/prometheus:/etc/prometheus:ro" in prometheus["volumes"]
    assert "--config.file=/etc/prometheus/prometheus.yml" in prometheus["command"]
    assert prometheus["depends_on"]["api"]["condition"] == "service_healthy"
    assert prometheus["healthcheck"]["test"]

    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    assert config["rule_files"] == ["/etc/prometheus/rules/*.yml"]
    (job,) = [j for j in config["scrape_configs"] if j["job_name"] == "alpine-api"]
    # The service name resolves to every replica's address: one target each.
    assert job["dns_sd_configs"] == [
        {"names": ["api"], "type": "A", "port": 8000, "refresh_interval": "15s"}
    ]
    assert "ALPINE_METRICS_TOKEN" not in str(services["api"]["environment"])  # scrape is open


def test_prometheus_config_passes_promtool_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    # Debian's promtool is Prometheus 2 and does not know this Prometheus 3 field.
    for job in config["scrape_configs"]:
        job.pop("fallback_scrape_protocol", None)
    config["rule_files"] = [str(path) for path in RULE_FILES]
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    result = promtool("check", "config", "prometheus.yml", cwd=tmp_path)
    show(capsys, "promtool check config", result.stdout + result.stderr)
    assert result.returncode == 0
