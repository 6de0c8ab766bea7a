"""A fleet of simulated charge points against one Central System: does the simulator keep time?

For each N in ``--counts`` (default 100, 500 and 1,000) the script starts the Central System as an
operator does (``ocpp-soap central serve``: gunicorn, 2 sync workers, a SQLite file in a temporary
folder, unknown boxes accepted without the registration limit, heartbeat interval 10 s), registers the fleet's id tags, and runs
``ocpp-soap chargepoint fleet --count N --charge`` as a subprocess with short intervals
(HeartbeatInterval and MeterValueSampleInterval 10 s, boots spread over ``--ramp``). It reports:

- messages/s sustained: the rate once the boots are spread and the first samples are due (from the
  fleet's progress lines, ramp + one interval onwards), and the mean over the whole run (boots
  included);
- late messages: the share sent more than 1 s after their scheduled time (the fleet measures it:
  from the due time of the timer that sends a message to the moment it goes out), with the
  scheduling delay's p50/p99;
- CPU seconds and RSS of both processes (the CS counts its gunicorn master and workers), sampled
  with psutil (``/proc`` without it);
- memory per charge point: the fleet's RSS growth over its base (one member built) divided by N,
  and the slope between successive counts.

Run: ``python bench/fleet.py [--counts 100,500,1000] [--duration S] [--ramp S] [--json FILE]``.
"""

from __future__ import annotations

import os
import sys

# This folder holds ``http.py``; as sys.path[0] it would hide the standard library's ``http``.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import argparse  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import urllib.request  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import free_port, machine, table, write_json  # noqa: E402

try:
    import psutil
except ImportError:  # pragma: no cover - the test extra installs it
    psutil = None

OCPP_SOAP = str(Path(sys.executable).with_name("ocpp-soap"))
PREFIX = "SIM"
PROGRESS = re.compile(r"^\s*([\d.]+)s\s+booted (\d+)/(\d+)\s+charging (\d+)\s+transactions (\d+)\s+"
                      r"messages (\d+)")


# ---------------------------------------------------------------------------- process figures
class ProcStats:
    """CPU seconds and RSS of a process and its children, sampled in the background."""

    def __init__(self, pid: int, every: float = 0.5) -> None:
        self.pid = pid
        self.every = every
        self.cpu_s = 0.0
        self.rss_kib = 0
        self.peak_rss_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> ProcStats:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.sample()
        self._stop.set()
        self._thread.join(2)

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            self.sample()

    def sample(self) -> None:
        cpu, rss = _tree(self.pid)
        if rss:  # a process that has exited keeps its last figures
            self.cpu_s, self.rss_kib = max(self.cpu_s, cpu), rss
            self.peak_rss_kib = max(self.peak_rss_kib, rss)


def _tree(pid: int) -> tuple[float, int]:
    """(CPU seconds, RSS KiB) summed over ``pid`` and its descendants."""
    if psutil is not None:
        try:
            root = psutil.Process(pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.Error:
            return 0.0, 0
        cpu = rss = 0
        for p in procs:
            try:
                t = p.cpu_times()
                cpu += t.user + t.system
                rss += p.memory_info().rss
            except psutil.Error:
                pass
        return cpu, rss // 1024
    return _tree_proc(pid)


def _tree_proc(pid: int) -> tuple[float, int]:
    tick = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    todo, cpu, rss = [pid], 0.0, 0
    while todo:
        p = todo.pop()
        todo.extend(children.get(p, []))
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            cpu += (int(fields[11]) + int(fields[12])) / tick
            rss += int(fields[21]) * os.sysconf("SC_PAGE_SIZE") // 1024
        except (OSError, IndexError, ValueError):
            pass
    return cpu, rss


# ---------------------------------------------------------------------------- the two processes
def start_central(tmp: Path, port: int, heartbeat: int) -> subprocess.Popen:
    db = f"sqlite:///{tmp}/cs.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCPP_SOAP_")}
    # The whole fleet comes from one loopback address, which is what the auto-registration
    # limit per source address exists to stop (issue 13): an operator moving a real fleet
    # registers its boxes or raises the limit; here the limit is the fleet's size.
    env["OCPP_SOAP_REGISTRATION_LIMIT_PER_IP"] = env["OCPP_SOAP_REGISTRATION_LIMIT"] = "100000"
    proc = subprocess.Popen(
        [OCPP_SOAP, "central", "serve", "--port", str(port), "--workers", "2", "--db", db,
         "--unknown-chargebox", "accept", "--heartbeat-interval", str(heartbeat),
         "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=open(tmp / "cs.log", "wb"),  # noqa: SIM115
        start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the CS exited: {(tmp / 'cs.log').read_text()[-2000:]}")
        try:  # both workers booted: /healthz answers (then the CPU count starts from here)
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                if r.status == 200:
                    time.sleep(1.0)
                    return proc
        except OSError:
            time.sleep(0.1)
    stop(proc)
    raise RuntimeError("the CS did not start")


def stop(proc: subprocess.Popen, timeout: float = 15.0) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


def register_tags(tmp: Path, count: int) -> None:
    """The fleet swipes ``T<identity>`` at each charge point; the CS must know those tags."""
    from ocpp_soap.central.domain import CentralSystem
    from ocpp_soap.central.settings import CentralSettings

    central = CentralSystem.open(CentralSettings(db_url=f"sqlite:///{tmp}/cs.db"))
    width = max(3, len(str(count)))
    try:
        for i in range(1, count + 1):
            central.admin.add_tag(f"T{PREFIX}{i:0{width}d}"[:20])
    finally:
        central.store.dispose()


def run_one(count: int, duration: float, ramp: float, heartbeat: int, interval: int,
            workers: int | None) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="ocpp-fleet-"))
    port = free_port()
    try:
        register_tags(tmp, count)
        cs = start_central(tmp, port, heartbeat)
        cs_stats = ProcStats(cs.pid).start()
        cs_cpu0 = _tree(cs.pid)[0]
        cmd = [OCPP_SOAP, "chargepoint", "fleet", "--central",
               f"http://127.0.0.1:{port}/ocpp/CentralSystemService", "--count", str(count),
               "--prefix", PREFIX, "--listen", "127.0.0.1:0", "--charge",
               "--duration", str(duration), "--interval", str(interval),
               "--heartbeat", str(heartbeat), "--ramp", str(ramp), "--quiet"]
        if workers:
            cmd += ["--workers", str(workers)]
        fleet = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True, start_new_session=True)
        fleet_stats = ProcStats(fleet.pid).start()
        try:
            out, err = fleet.communicate(timeout=duration + 120)
        except subprocess.TimeoutExpired:
            os.killpg(fleet.pid, signal.SIGKILL)
            out, err = fleet.communicate()
        fleet_stats.stop()
        cs_stats.stop()
        stop(cs)
        summary = _summary(out)
        if summary is None:
            raise RuntimeError(f"fleet of {count} gave no summary (exit {fleet.returncode}):\n"
                               f"{err[-3000:]}")
        return {
            "count": count, "exit": fleet.returncode, **summary,
            "steady_msgs_per_s": _steady_rate(err, ramp + max(heartbeat, interval)),
            "fleet_cpu_s": summary["cpu_s"], "fleet_rss_mib": fleet_stats.peak_rss_kib / 1024,
            "cs_cpu_s": round(cs_stats.cpu_s - cs_cpu0, 2),
            "cs_rss_mib": cs_stats.peak_rss_kib / 1024,
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _summary(stdout: str) -> dict | None:
    for line in reversed(stdout.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    return None


def _steady_rate(stderr: str, settle: float) -> float | None:
    """Messages/s between the first progress line after ``settle`` s (boots spread, first samples
    due) and the last one before the fleet stopped its transactions (the final line comes after)."""
    points = []
    for line in stderr.splitlines():
        m = PROGRESS.match(line)
        if m:
            points.append((float(m.group(1)), int(m.group(6))))
    steady = [(t, sent) for t, sent in points[:-1] if t >= settle]
    if len(steady) < 2 or steady[-1][0] <= steady[0][0]:
        return None
    (t1, s1), (t2, s2) = steady[0], steady[-1]
    return (s2 - s1) / (t2 - t1)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--counts", default="100,500,1000", help="fleet sizes (default 100,500,1000)")
    ap.add_argument("--duration", type=float, default=None,
                    help="seconds each fleet runs, ramp included (default: ramp + two intervals "
                         "+ 5 s, at least 30)")
    ap.add_argument("--ramp", type=float, default=None,
                    help="seconds over which the boots are spread (default N/25, at least 2: a "
                         "boot is ~7 messages, so 1,000 boots in 40 s ask ~175 messages/s)")
    ap.add_argument("--heartbeat", type=int, default=10, help="HeartbeatInterval, s (default 10)")
    ap.add_argument("--interval", type=int, default=10,
                    help="MeterValueSampleInterval, s (default 10)")
    ap.add_argument("--workers", type=int, help="the fleet's scheduler worker threads")
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args(argv)
    counts = [int(c) for c in args.counts.split(",") if c.strip()]
    load = os.getloadavg()
    rows = []
    for n in counts:
        ramp = args.ramp if args.ramp is not None else max(2.0, n / 25)
        duration = args.duration or max(30.0, ramp + 2 * max(args.heartbeat, args.interval) + 5)
        row = run_one(n, duration, ramp, args.heartbeat, args.interval, args.workers)
        row["ramp_s"], row["duration_s"] = ramp, duration
        row["late_pct"] = 100.0 * row["late_share"]
        row["rss_per_cp_kib"] = row["rss_per_cp_kib"]
        rows.append(row)
        print(f"N={n}: {json.dumps(row)}", file=sys.stderr)
    for prev, row in zip(rows, rows[1:], strict=False):
        row["rss_slope_kib"] = round((row["rss_peak_kib"] - prev["rss_peak_kib"])
                                     / (row["count"] - prev["count"]), 1)
        row["msgs_ratio"] = round(row["messages_per_s"] / (prev["messages_per_s"] or 1), 2)
        row["cs_cpu_ratio"] = round(row["cs_cpu_s"] / (prev["cs_cpu_s"] or 1), 2)
    print(f"fleet subprocess against `ocpp-soap central serve` (gunicorn, 2 sync workers, SQLite); "
          f"heartbeat {args.heartbeat} s, MeterValueSampleInterval {args.interval} s, --charge, "
          f"ramp and run length per row; "
          f"{os.cpu_count()} cores, load before "
          f"{load[0]:.2f}/{load[1]:.2f}/{load[2]:.2f}\n")
    print(table(rows, ["count", "ramp_s", "duration_s", "steady_msgs_per_s", "messages_per_s", "sent", "errors",
                       "late_pct", "delay_p50_ms", "delay_p99_ms", "fleet_cpu_s", "cs_cpu_s",
                       "fleet_rss_mib", "cs_rss_mib", "rss_per_cp_kib", "rss_slope_kib"]))
    print("\nratios to the previous count: "
          + ", ".join(f"N={r['count']}: messages/s ×{r['msgs_ratio']}, CS CPU ×{r['cs_cpu_ratio']}"
                      for r in rows[1:]))
    targets = _targets(rows, args.heartbeat, args.interval)
    for line in targets:
        print(line)
    write_json(args.json, {"machine": machine(), "load_before": load,
                           "heartbeat_s": args.heartbeat, "interval_s": args.interval,
                           "rows": rows, "targets": targets})
    return 0


def _targets(rows: list[dict], heartbeat: int, interval: int) -> list[str]:
    big = max(rows, key=lambda r: r["count"])
    n = big["count"]
    per_cp = big.get("rss_slope_kib") or big["rss_per_cp_kib"]
    # A CS that keeps up answers every message, carries the rate the fleet asks for (a heartbeat
    # and a MeterValues per interval and charge point), and the chargers' transaction queues hold
    # no more than what is in flight when the run ends (< 1 per 100 charge points).
    demand = n / heartbeat + n / interval
    steady = big["steady_msgs_per_s"]
    queued = big.get("queued_at_end", big["queued"])
    keeps_up = (big["errors"] == 0 and queued <= n / 100
                and (steady is None or steady >= 0.95 * demand)
                and big["delay_p99_ms"] < 1000 * min(heartbeat, interval))
    steady_text = "n/a (run shorter than ramp + interval)" if steady is None else f"{steady:.0f}/s"
    return [
        f"target late < 1% at N={n}: {big['late_pct']:.2f}% -> {'met' if big['late_pct'] < 1 else 'MISSED'}",
        f"target RSS < 200 KiB per charge point at N={n}: {per_cp:.1f} KiB -> "
        f"{'met' if per_cp < 200 else 'MISSED'}",
        f"target CS keeps up at N={n}: {'met' if keeps_up else 'MISSED'} (errors {big['errors']}, "
        f"queued at the end of the run {queued}, steady {steady_text} for a demand of "
        f"{demand:.0f}/s, delay p99 {big['delay_p99_ms']:.0f} ms < one interval)",
    ]


if __name__ == "__main__":
    sys.exit(main())
