"""How much memory a fit may use, and the one-line refusal when it will not fit.

Anything of size n_users x n_items or n_items^2 is estimated before it is allocated: :func:`check_fits` compares
the estimate with :data:`MEMORY_FRACTION` of :func:`available_memory` and fails early with both figures and
the option that avoids it.
"""

from __future__ import annotations

import os
from pathlib import Path

from recgan.errors import RecganError

MEMORY_FRACTION = 0.8
"""A fit plans to use at most this fraction of the memory available when it starts (EASE's ``solver="auto"``,
:func:`check_fits`)."""


def available_memory() -> int:
    """Bytes of memory available to this process now: ``MemAvailable`` of /proc/meminfo, capped by a cgroup
    limit when one is set; ``os.sysconf`` free pages where /proc is absent."""
    avail = None
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
                    break
    except OSError:
        pass
    if avail is None:
        try:
            avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            avail = 1 << 62
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(path).read_text().strip()
        except OSError:
            continue
        if text.isdigit():
            avail = min(avail, int(text))
    return int(avail)


def gib(b: float) -> str:
    """Bytes as GiB with one decimal, e.g. ``"7.5 GiB"``."""
    return f"{b / 2**30:.1f} GiB"


def check_fits(need: int, what: str, hint: str, available: int | None = None) -> None:
    """Raise :class:`RecganError` (one line: ``what``, the bytes needed and available, ``hint``) when ``need``
    exceeds :data:`MEMORY_FRACTION` of the available memory (``available``, default :func:`available_memory`)."""
    avail = available_memory() if available is None else available
    if need > MEMORY_FRACTION * avail:
        raise RecganError(f"{what} needs ~{gib(need)}, {gib(avail)} available; {hint}")
