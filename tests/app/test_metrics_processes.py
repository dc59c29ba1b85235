"""Several processes (issue #11 item 6): with PROMETHEUS_MULTIPROC_DIR, `/metrics` of any process
reports the sum of what every process sharing the directory counted, as the README says."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

COUNT = """
from orderguard.observability import metrics
metrics.deadlines_armed({"pay_by": 2})
metrics.deadlines_settled([("pay_by", 1.5)], {}, 0.02)
"""
EXPOSE = """
import sys
from orderguard.app.ops import Watched
from orderguard.observability import metrics
gauges = metrics.DatabaseGauges(lambda: Watched({"pay_by": 7}, None))
sys.stdout.write(metrics.exposition(gauges).decode())
"""


def _python(code: str, env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.slow
def test_metrics_of_several_processes_add_up_with_a_shared_directory(tmp_path: Path) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for _ in range(2):  # two processes count, then end
        _python(COUNT, env)
    text = _python(EXPOSE, env)  # a third answers /metrics
    assert 'orderguard_deadlines_armed_total{kind="pay_by"} 4.0' in text
    assert 'orderguard_deadlines_fired_total{kind="pay_by"} 2.0' in text
    assert 'orderguard_deadline_lateness_seconds_count{kind="pay_by"} 2.0' in text
    assert 'orderguard_deadlines_due{kind="pay_by"} 7.0' in text  # read from the database: whole anyway

    alone = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    text = _python(EXPOSE, alone)  # without it, a process reports only its own counts
    assert 'orderguard_deadlines_armed_total{kind="pay_by"}' not in text
    assert "process_cpu_seconds_total" in text  # and the client's process metrics
