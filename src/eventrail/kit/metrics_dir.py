"""Where the processes of one deployment write their metrics, so that a scrape of any
of them adds up all (prometheus_client's multiprocess mode; ``kit/metrics.py``).

Kept apart from ``kit/metrics.py`` because it must run before prometheus_client is
imported: the library picks its mode once, at import, from ``PROMETHEUS_MULTIPROC_DIR``.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from pathlib import Path

DIRECTORY_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
_PID = re.compile(r"_(\d+)\.db$")


def use_directory(path: Path) -> None:
    """Record this process's metrics, and those of the processes it starts, in
    ``path``, beside the other processes writing there. Files of processes that no
    longer run are removed first: the counters of a previous run would otherwise
    add to this one's, and the directory would grow with every restart."""
    if "prometheus_client.values" in sys.modules and os.environ.get(DIRECTORY_VARIABLE) != str(
        path
    ):
        raise RuntimeError("metrics were loaded before their directory was chosen")
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    remove_dead(path)
    os.environ[DIRECTORY_VARIABLE] = str(path)


def remove_dead(path: Path) -> list[int]:
    """Delete the metric files of the processes that no longer run; their pids."""
    dead: set[int] = set()
    for file in path.glob("*.db"):
        found = _PID.search(file.name)
        if found is None:
            continue
        pid = int(found.group(1))
        if not _alive(pid):
            dead.add(pid)
            with contextlib.suppress(FileNotFoundError):
                file.unlink()
    return sorted(dead)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True
