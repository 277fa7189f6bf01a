"""CPU time from ``/proc`` (Linux): per process group and for the whole machine.

Used to split a measured window's CPU between the server, PostgreSQL, Redis and the load
generator, and to show how busy the box was (other jobs on the machine included).
"""

from __future__ import annotations

import os
from collections import defaultdict

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            raw = stat.read()
    except OSError:  # gone, or not ours to read
        return None
    # The command name is in parentheses and may contain spaces: split after it.
    return raw[raw.rindex(")") + 2 :].split()


def _children() -> dict[int, list[int]]:
    """Every live process's children, by parent pid."""
    children: dict[int, list[int]] = defaultdict(list)
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (fields := _stat_fields(int(entry))) is not None:
            children[int(fields[1])].append(int(entry))
    return children


def children(parent: int) -> list[int]:
    """The processes ``parent`` started (one level down)."""
    return _children().get(parent, [])


def descendants(root: int) -> set[int]:
    """``root`` and every process below it."""
    children = _children()
    found, todo = set(), [root]
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(children.get(pid, ()))
    return found


def argv(pid: int) -> list[str]:
    """The command line of ``pid`` (empty when it is gone)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return cmdline.read().decode(errors="replace").split("\0")[:-1]
    except OSError:
        return []


def cpu_seconds(pids: set[int]) -> dict[int, float]:
    """User + system CPU seconds of each live process in ``pids``."""
    times = {}
    for pid in pids:
        fields = _stat_fields(pid)
        if fields is not None:
            times[pid] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return times


def machine_busy_seconds() -> float:
    """CPU seconds spent on anything but idle and I/O wait, summed over all cores, since boot."""
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    idle = values[3] + values[4]
    # guest time is already counted in user time
    return (sum(values[:8]) - idle) / CLOCK_TICKS
