"""CPU seconds per process of the stack, from /proc: where a figure's time went, cheaply and after the fact."""

from __future__ import annotations

import os
from pathlib import Path

_HZ = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _table() -> dict[int, tuple[int, float]]:
    """pid -> (parent pid, user + system CPU seconds) of every process we can read; {} off Linux."""
    table: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else ():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # gone since the listing
            continue
        # The command name (field 2) may hold spaces and parentheses: split after its closing one.
        fields = stat[stat.rindex(")") + 2 :].split()
        table[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / _HZ)
    return table


def snapshot(roots: dict[str, int]) -> dict[str, float]:
    """CPU seconds so far of each named process together with its descendants (e.g. PostgreSQL's backends).

    Descendants that exited before the snapshot are not counted; the stack's are long-lived (pooled
    connections, workers), so a difference of two snapshots is the CPU each part spent in between.
    """
    table = _table()
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    totals = {}
    for name, root in roots.items():
        total, stack = 0.0, [root]
        while stack:
            pid = stack.pop()
            if pid in table:
                total += table[pid][1]
                stack += children.get(pid, [])
        totals[name] = total
    return totals


def spent(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """CPU seconds per process between two snapshots, busiest first."""
    used = {name: after[name] - before.get(name, 0.0) for name in after}
    return dict(sorted(used.items(), key=lambda item: -item[1]))
