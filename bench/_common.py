"""Shared helpers for the benchmark scripts: timing loops, tables, JSON output."""

from __future__ import annotations

import json
import platform
import socket
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def median_us(fn: Callable[[], Any], repeat: int = 7, number: int = 200) -> float:
    """Median over ``repeat`` runs of the mean time of ``number`` calls, in microseconds."""
    fn()  # warm caches
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        runs.append((time.perf_counter() - t0) / number * 1e6)
    return statistics.median(runs)


def interleaved_medians_us(fns: dict[str, Callable[[], Any]], repeat: int = 9,
                           number: int = 200) -> dict[str, float]:
    """Like ``median_us`` for several functions whose ratio is wanted: their runs alternate
    (a, b, c, a, b, c …), so a burst of load from elsewhere on the machine lands on all of them
    alike instead of skewing the ratio."""
    for fn in fns.values():
        fn()  # warm caches
    runs: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            for _ in range(number):
                fn()
            runs[name].append((time.perf_counter() - t0) / number * 1e6)
    return {name: statistics.median(r) for name, r in runs.items()}


def free_port() -> int:
    """A port the kernel has just found free on 127.0.0.1, for a server started as a process."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def machine() -> dict[str, Any]:
    import os

    return {"python": platform.python_version(), "cpus": os.cpu_count(),
            "machine": platform.machine(), "system": platform.system()}


def table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    widths = {c: max(len(c), *(len(_fmt(r.get(c))) for r in rows)) for c in columns}
    lines = ["  ".join(c.ljust(widths[c]) for c in columns),
             "  ".join("-" * widths[c] for c in columns)]
    for r in rows:
        lines.append("  ".join(_fmt(r.get(c)).ljust(widths[c]) for c in columns))
    return "\n".join(lines)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:,.1f}" if v >= 10 else f"{v:.2f}"
    return "" if v is None else str(v)


def write_json(path: str | None, data: dict[str, Any]) -> None:
    if path:
        Path(path).write_text(json.dumps(data, indent=2, default=str))
