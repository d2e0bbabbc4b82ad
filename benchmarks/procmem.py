"""Process memory from ``/proc`` (Linux), for the benchmarks: one process's counters, and the
resident memory of a process with all its descendants (workers, fork servers)."""

from __future__ import annotations

import os


def status_kb(pid: int, *keys: str) -> dict[str, int]:
    """``VmRSS``, ``VmHWM``, ... of ``pid`` in kB, those present."""
    found = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in keys:
                found[key] = int(value.split()[0])
    return found


def tree_rss_kb(pid: int) -> int:
    """Resident memory of ``pid`` and all its descendants; 0 where ``/proc`` cannot tell."""
    total, stack, seen = 0, [pid], set()
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            total += status_kb(current, "VmRSS").get("VmRSS", 0)
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    stack.extend(int(child) for child in children.read().split())
        except (OSError, ValueError):
            continue
    return total
