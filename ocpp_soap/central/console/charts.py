"""A transaction's energy and power over time as an SVG drawn here (no chart library).

The meter values arrive as text with a measurand and a unit; this picks the energy register
(``Energy.Active.Import.Register``, also a sample without measurand, as OCPP defines) and the
active power, turns kWh and kW into one scale each, and draws two lines on one time axis: energy
(kWh, left) and power (kW, right). Every text put into the SVG is escaped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from ..timeutil import parse_time

ENERGY = "Energy.Active.Import.Register"
POWER = "Power.Active.Import"
WIDTH, HEIGHT = 720, 280
LEFT, RIGHT, TOP, BOTTOM = 64, 64, 16, 40


@dataclass(frozen=True)
class Point:
    at: datetime
    value: float  # kWh for energy, kW for power


def _number(text: Any) -> float | None:
    try:
        value = float(str(text).strip())
    except (TypeError, ValueError):
        return None
    return value if value == value and abs(value) != float("inf") else None


def series(samples: list[dict[str, Any]], meter_start: int | None = None,
           started: str | None = None) -> tuple[list[Point], list[Point]]:
    """(energy in kWh, power in kW) points in time order from meter sample rows."""
    energy: list[Point] = []
    power: list[Point] = []
    if meter_start is not None and started:
        energy.append(Point(parse_time(started), meter_start / 1000))
    for s in samples:
        if not s.get("timestamp"):
            continue
        value = _number(s.get("value"))
        if value is None:
            continue
        at = parse_time(s["timestamp"])
        measurand = s.get("measurand") or ENERGY
        unit = (s.get("unit") or ("Wh" if measurand == ENERGY else "W"))
        if measurand == ENERGY and unit in ("Wh", "kWh") and not s.get("phase"):
            energy.append(Point(at, value / 1000 if unit == "Wh" else value))
        elif measurand == POWER and unit in ("W", "kW") and not s.get("phase"):
            power.append(Point(at, value / 1000 if unit == "W" else value))
    energy.sort(key=lambda p: p.at)
    power.sort(key=lambda p: p.at)
    return energy, power


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    if high <= low:
        high = low + 1
    raw = (high - low) / count
    magnitude = 10 ** len(str(int(raw))) / 10 if raw >= 1 else 1
    for step in (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10):
        if step * magnitude >= raw:
            step *= magnitude
            break
    else:
        step = raw
    start = (low // step) * step
    return [start + i * step for i in range(count + 2) if start + i * step <= high + step / 2]


def _fmt(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".") if value % 1 else f"{value:.0f}"


def render(energy: list[Point], power: list[Point], *, title: str = "") -> str:
    """The chart as an ``<svg>`` element (text), or a short figure saying there is no data."""
    if not energy and not power:
        return ('<svg class="chart" viewBox="0 0 720 80" role="img" aria-label="no meter values">'
                '<text x="360" y="45" text-anchor="middle" class="chart-empty">No meter values'
                ' yet: they appear as the charge point sends MeterValues.</text></svg>')
    times = [p.at for p in energy + power]
    t0, t1 = min(times), max(times)
    span = max((t1 - t0).total_seconds(), 1.0)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(at: datetime) -> float:
        return LEFT + (at - t0).total_seconds() / span * plot_w

    def scale(points: list[Point]) -> tuple[list[float], Any]:
        values = [p.value for p in points] or [0.0]
        low, high = min(values), max(values)
        if high - low < 1e-9:
            low, high = low - 0.5 if low > 0.5 else 0.0, high + 0.5
        ticks = _ticks(low, high)
        lo, hi = ticks[0], ticks[-1]

        def y(value: float) -> float:
            return TOP + plot_h - (value - lo) / (hi - lo) * plot_h
        return ticks, y

    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             f'aria-label={quoteattr(title or "energy and power over time")}>']
    e_ticks, ey = scale(energy)
    p_ticks, py = scale(power)
    for tick in e_ticks:
        yy = ey(tick)
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{yy:.1f}" '
                     f'y2="{yy:.1f}"/>')
        if energy:
            parts.append(f'<text class="axis energy-text" x="{LEFT - 6}" y="{yy + 4:.1f}" '
                         f'text-anchor="end">{_fmt(tick)}</text>')
    if power:
        for tick in p_ticks:
            parts.append(f'<text class="axis power-text" x="{WIDTH - RIGHT + 6}" '
                         f'y="{py(tick) + 4:.1f}">{_fmt(tick)}</text>')
    for i in range(5):
        at = t0 + (t1 - t0) * (i / 4)
        parts.append(f'<text class="axis" x="{x(at):.1f}" y="{HEIGHT - BOTTOM + 18}" '
                     f'text-anchor="middle">{at.strftime("%H:%M:%S")}</text>')
    parts.append(f'<text class="axis" x="{WIDTH / 2:.0f}" y="{HEIGHT - 4}" '
                 'text-anchor="middle">time (UTC)</text>')
    parts.append(f'<text class="axis energy-text" x="4" y="{TOP + 4}">kWh</text>')
    if power:
        parts.append(f'<text class="axis power-text" x="{WIDTH - 4}" y="{TOP + 4}" '
                     'text-anchor="end">kW</text>')
    for points, y, name, unit in ((energy, ey, "energy", "kWh"), (power, py, "power", "kW")):
        if not points:
            continue
        coords = " ".join(f"{x(p.at):.1f},{y(p.value):.1f}" for p in points)
        parts.append(f'<polyline class="line {name}" points="{coords}"/>')
        for p in points:
            label = escape(f"{p.at.isoformat()} {_fmt(p.value)} {unit}")
            parts.append(f'<circle class="dot {name}" cx="{x(p.at):.1f}" cy="{y(p.value):.1f}" '
                         f'r="3"><title>{label}</title></circle>')
    parts.append(f'<rect class="frame" x="{LEFT}" y="{TOP}" width="{plot_w}" '
                 f'height="{plot_h}"/>')
    parts.append("</svg>")
    return "".join(parts)
