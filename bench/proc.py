"""Linux /proc readers: resident memory, CPU time and children of a process, and machine-wide CPU use."""

from __future__ import annotations

import os

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def rss_kb(pid: int | str = "self") -> int:
    """Resident set size (``VmRSS``) of a process, in KiB."""
    with open(f"/proc/{pid}/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (0 when it has gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            fields = handle.read().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime


def command_cpu_seconds(name: str) -> float:
    """User + system CPU time so far of every process whose command name starts with ``name``.

    For a server on this machine that runs as several processes (PostgreSQL:
    one per connection, plus its writers); two readings give its CPU between them.
    """
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/comm", encoding="utf-8", errors="replace") as handle:
                if not handle.read().startswith(name):
                    continue
        except OSError:
            continue
        total += cpu_seconds(int(entry))
    return total


def children(pid: int) -> list[int]:
    """Direct child processes (e.g. the workers of a gunicorn master)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as handle:
            return [int(child) for child in handle.read().split()]
    except OSError:
        return []


def machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot; two readings give the busy fraction between them."""
    with open("/proc/stat", encoding="ascii") as handle:
        values = [int(v) for v in handle.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])
    return total - idle, total
