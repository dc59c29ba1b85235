"""CPU time of the processes a benchmark shares the machine with, read from /proc and rusage.

On a 2-core machine the server under test, PostgreSQL and the load generator take turns on the same
cores, so a rate alone does not say what the machine could give; their CPU time a request (or an
order) does: no arrangement of processes gets past `CPUs / (CPU a request, all of them together)`.
"""

from __future__ import annotations

import os
import resource
from collections.abc import Callable
from pathlib import Path


def processes_cpu(counted: Callable[[str, list[str]], bool]) -> float:
    """User + system CPU time so far of the processes for which `counted(comm, fields)` holds, in
    seconds; `fields` are /proc/<pid>/stat's after "pid (comm) ": state ppid pgrp ... utime (11)
    stime (12)."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            raw = stat.read_text()
        except OSError:  # gone meanwhile
            continue
        fields = raw[raw.rindex(")") + 2 :].split()
        if counted(raw[raw.index("(") + 1 : raw.rindex(")")], fields):
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds() -> float:
    """User + system CPU time of every PostgreSQL process on this machine, so far."""
    return processes_cpu(lambda comm, _: comm.startswith("postgres"))


def children_cpu_seconds() -> float:
    """User + system CPU time of this process's children that have ended and been waited for."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def cpus_allow(cpu_seconds_each: float) -> float:
    """How many a second this machine's CPUs can do of something that takes `cpu_seconds_each` of
    CPU, every process's together: the bound of any number of workers sharing the machine."""
    return (os.cpu_count() or 1) / cpu_seconds_each if cpu_seconds_each > 0 else 0.0
