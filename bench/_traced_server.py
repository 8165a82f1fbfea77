"""``jupyter server`` for ``bench/memory.py``: SIGUSR2 writes a tracemalloc snapshot.

``python bench/_traced_server.py PREFIX [server options]``. Tracing starts at the first SIGUSR2
(start-up under tracemalloc is several times slower), so the snapshots hold what was allocated
since then and is still alive: the first one is empty, the later ones are what the sessions cost.
"""

from __future__ import annotations

import itertools
import signal
import sys
import tracemalloc
from pathlib import Path
from types import FrameType

# This script's folder (bench/, with modules like server.py) must not shadow anything.
sys.path.pop(0)
_prefix = sys.argv.pop(1)
_count = itertools.count()


def _dump(signum: int, frame: FrameType | None) -> None:
    if not tracemalloc.is_tracing():
        tracemalloc.start(12)
    path = f"{_prefix}.{next(_count)}"
    tracemalloc.take_snapshot().dump(path + ".tmp")
    Path(path + ".tmp").rename(path)


signal.signal(signal.SIGUSR2, _dump)

from jupyter_server.serverapp import main

sys.exit(main())
