"""The garbage collector in a long-running process (a web worker, the demo, the worker)."""

from __future__ import annotations

import gc


def settle() -> None:
    """Call once the process has loaded the app, before it serves: collect what starting left,
    then freeze what remains (the app and its libraries, ~160,000 objects) out of the collector's
    full passes. Otherwise each full pass walks them all, 110-170 ms on this 2-core machine, in
    whichever request triggers it: a bulk save of 1,200 judgements allocates enough to trigger one
    almost every time. Objects made afterwards are collected as before."""
    gc.collect()
    gc.freeze()
