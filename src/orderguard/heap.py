"""The garbage collector's settings for a long-running process: an API server or a worker.

Two costs showed in the profiles of issue #12 (benchmarks/README.md):
- Full collections went through every object made at start-up (modules, the context, compiled
  statements, the app's routes and models: about 110k, living as long as the process). In the API,
  12 full passes of about 65 ms each in 14,000 order reads, each a stop of every request in hand;
  in a worker, 2 passes of 100+ ms in 10,000 firings. Frozen once started, those objects are left
  out of every pass: the passes take about 1 ms.
- The youngest generation was collected whenever 700 more container objects were alive than at
  the last pass: a page of 50 orders makes more than that, so most requests paid a pass or two
  (0.03 ms a request). At `YOUNG_THRESHOLD` they run a few times an hour of load.

Objects made later are collected as before: garbage in cycles is still found, only later.
"""

from __future__ import annotations

import gc
import threading

YOUNG_THRESHOLD = 10_000  # CPython's default is 700
_settled = threading.Lock()


def settle_for_serving() -> None:
    """Once a process (the first caller): freeze what exists now and raise the young threshold."""
    if _settled.acquire(blocking=False):  # never released
        gc.freeze()
        _, middle, old = gc.get_threshold()
        gc.set_threshold(YOUNG_THRESHOLD, middle, old)
