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


def processes_cpu(counted: Callable[[str, list[str]], bool], *, with_children: bool = False) -> float:
    """User + system CPU time so far of the processes for which `counted(comm, fields)` holds, in
    seconds; `fields` are /proc/<pid>/stat's after "pid (comm) ": state ppid pgrp ... utime (11)
    stime (12) cutime (13) cstime (14). `with_children` adds what their ended children used."""
    ticks = 0
    last = 15 if with_children else 13
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            raw = stat.read_text()
        except OSError:  # gone meanwhile
            continue
        fields = raw[raw.rindex(")") + 2 :].split()
        if counted(raw[raw.index("(") + 1 : raw.rindex(")")], fields):
            ticks += sum(int(f) for f in fields[11:last])
    return ticks / os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds() -> float:
    """User + system CPU time of every PostgreSQL process on this machine so far, ended ones too.

    A server process that ends (its client closed the connection) leaves /proc; its CPU time then
    shows in the postmaster's, as that of a child it waited for. Counted so, the sum never goes
    back, but for the moment between a process's end and the postmaster's wait."""
    return processes_cpu(lambda comm, _: comm.startswith("postgres"), with_children=True)


def children_cpu_seconds() -> float:
    """User + system CPU time of this process's children that have ended and been waited for."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def cpus_allow(cpu_seconds_each: float) -> float:
    """How many a second this machine's CPUs can do of something that takes `cpu_seconds_each` of
    CPU, every process's together: the bound of any number of workers sharing the machine."""
    return (os.cpu_count() or 1) / cpu_seconds_each if cpu_seconds_each > 0 else 0.0
