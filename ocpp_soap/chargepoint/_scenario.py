"""Scenario files: a simulated charge point follows steps and checks what happens.

A scenario is YAML (``.yaml``/``.yml``) or TOML (``.toml``)::

    id: SCEN-1                    # charge point identity (CLI --id wins)
    version: "1.6"                # CLI --version wins
    central: http://127.0.0.1:8180/ocpp/CentralSystemService   # CLI --central wins
    connectors: 1
    config: {vendor: DBT, keys: {MeterValueSampleInterval: 2}}
    boot: true                    # power on and wait for BootNotification Accepted first (default)
    steps:
      - send: {action: Authorize, payload: {idTag: ABC}, expect: {status: Accepted}}
      - plug: 1
      - swipe: {tag: ABC, connector: 1, expect: started}
      - expect: {state: {connectors.1.status: Charging}, timeout: 5}
      - expect: {sent: MeterValues, timeout: 5}          # the charge point sent one
      - expect: {operation: RemoteStopTransaction, timeout: 60}   # the CS asked for one
      - wait: 2
      - assert: {connectors.1.meter_wh: {">": 0}}
      - unplug: 1

Steps: ``send`` {action, payload, expect: {dotted.path: value}} (``status`` also finds
``idTagInfo.status``); ``expect`` waits (``timeout``, default 10 s) for a CS→CP ``operation`` (with
optional ``payload`` fields), a CP→CS message the charge point ``sent`` (optional ``payload`` and
``reply`` fields), and/or a ``state`` to hold; ``wait`` seconds; ``plug`` / ``unplug`` N; ``swipe``
TAG or {tag, connector, expect}; ``fault`` {connector, code}; ``clear`` N; ``stop`` N; ``configure``
{key: value}; ``assert`` {state path: value}. State paths are dotted; ``connectors.N`` is connector N.
A value may be a comparison: ``{">": 0}``, ``{"<=": 11000}``, ``{"!=": X}``, ``{"in": [A, B]}``.
TOML, lacking null, writes ``"null"``. Each step may carry a ``name``. The first failing step ends the run with a non-zero exit status.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ocpp_soap.chargepoint._render import to_json
from ocpp_soap.chargepoint._simulator import ChargePoint

STEP_KINDS = ("send", "expect", "wait", "plug", "unplug", "swipe", "fault", "clear", "stop",
              "configure", "assert")
DEFAULT_TIMEOUT = 10.0


class ScenarioError(Exception):
    """A step failed (or the file is wrong); the message names the step."""


def load_file(path: str | Path) -> dict:
    """A YAML or TOML file as a dict."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".toml":
        import tomllib

        data = tomllib.loads(text)
    else:
        import yaml

        data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: expected a mapping at the top")
    return data


# ==================================================================== values and paths
_MISSING = object()


def lookup(data: Any, path: str) -> Any:
    """``connectors.1.status`` in a state dict (connectors by id) or a reply; _MISSING when absent."""
    cur = data
    parts = str(path).split(".")
    i = 0
    while i < len(parts):
        part = parts[i]
        if isinstance(cur, dict):
            if part == "connectors" and isinstance(cur.get("connectors"), list) and i + 1 < len(parts):
                match = [c for c in cur["connectors"] if str(c.get("id")) == parts[i + 1]]
                if not match:
                    return _MISSING
                cur, i = match[0], i + 2
                continue
            if part not in cur:
                return _MISSING
            cur = cur[part]
        elif isinstance(cur, list):
            try:
                cur = cur[int(part)]
            except (ValueError, IndexError):
                return _MISSING
        else:
            return _MISSING
        i += 1
    return cur


def _same(actual: Any, expected: Any) -> bool:
    if actual is _MISSING or actual is None:
        return expected is None or expected == "null"  # TOML has no null: write "null"
    if isinstance(expected, bool) or isinstance(actual, bool):
        return str(actual).lower() == str(expected).lower()
    if isinstance(expected, int | float) and isinstance(actual, int | float | str):
        try:
            return float(actual) == float(expected)
        except ValueError:
            return False
    return actual == expected or str(actual) == str(expected)


def matches(actual: Any, expected: Any) -> bool:
    """``expected`` is a plain value or a one-key comparison dict."""
    if isinstance(expected, dict) and len(expected) == 1:
        (op, ref), = expected.items()
        if op in (">", ">=", "<", "<="):
            try:
                a, r = float(actual), float(ref)
            except (TypeError, ValueError):
                return False
            return {">": a > r, ">=": a >= r, "<": a < r, "<=": a <= r}[op]
        if op == "!=":
            return not _same(actual, ref)
        if op == "in":
            return any(_same(actual, r) for r in ref)
    return _same(actual, expected)


def check(data: Any, expected: dict, what: str) -> str | None:
    """None when every path of ``expected`` matches in ``data``, else what differs."""
    wrong = []
    for path, want in (expected or {}).items():
        got = lookup(data, path)
        if got is _MISSING and path == "status" and isinstance(data, dict):
            got = lookup(data, "idTagInfo.status")
        if not matches(got, want):
            wrong.append(f"{path} is {'(absent)' if got is _MISSING else repr(got)}, expected {want!r}")
    return f"{what}: " + "; ".join(wrong) if wrong else None


def _subset(payload: dict | None, expected: dict | None) -> bool:
    return check(to_json(payload or {}), expected or {}, "") is None


# ==================================================================== the runner
@dataclass
class StepResult:
    index: int
    label: str
    ok: bool
    detail: str = ""


class ScenarioRunner:
    """Runs the steps of a scenario on an already started :class:`ChargePoint`."""

    def __init__(self, sim: ChargePoint, steps: list, out=print) -> None:
        if not isinstance(steps, list) or not steps:
            raise ScenarioError("the scenario has no steps (a list under `steps`)")
        self.sim = sim
        self.steps = steps
        self.out = out
        self._consumed: set[int] = set()
        self._since = sim._seq

    def run(self) -> list[StepResult]:
        """Run every step; raise ScenarioError at the first failure."""
        results = []
        for i, step in enumerate(self.steps, 1):
            label = describe(i, step)
            try:
                detail = self.run_step(step)
            except ScenarioError as exc:
                self.out(f"✗ {label}: {exc}")
                raise ScenarioError(f"{label}: {exc}") from None
            except Exception as exc:
                self.out(f"✗ {label}: {type(exc).__name__}: {exc}")
                raise ScenarioError(f"{label}: {type(exc).__name__}: {exc}") from None
            self.out(f"✓ {label}" + (f" — {detail}" if detail else ""))
            results.append(StepResult(i, label, True, detail or ""))
        return results

    def run_step(self, step: Any) -> str | None:
        if not isinstance(step, dict):
            raise ScenarioError(f"a step is a mapping, not {step!r}")
        kinds = [k for k in step if k in STEP_KINDS]
        if len(kinds) != 1:
            raise ScenarioError(f"a step needs exactly one of {', '.join(STEP_KINDS)}")
        kind = kinds[0]
        arg = step[kind]
        return getattr(self, f"_{kind}")(arg, step)

    # ------------------------------------------------------------------ steps
    def _send(self, arg: dict, step: dict) -> str:
        if not isinstance(arg, dict) or "action" not in arg:
            raise ScenarioError("send needs {action: ..., payload: {...}}")
        reply = self.sim.send(arg["action"], arg.get("payload") or {})
        wrong = check(to_json(reply), arg.get("expect") or {}, "reply")
        if wrong:
            raise ScenarioError(wrong)
        return f"reply {to_json(reply)}"

    def _expect(self, arg: dict, step: dict) -> str:
        if not isinstance(arg, dict):
            raise ScenarioError("expect needs {operation|sent|state: ..., timeout: S}")
        timeout = float(arg.get("timeout", step.get("timeout", DEFAULT_TIMEOUT)))
        found: dict[str, Any] = {}

        def satisfied() -> bool:
            if "operation" in arg and "operation" not in found:
                item = self._find("in", arg["operation"], arg.get("payload"), None)
                if item is None:
                    return False
                found["operation"] = item
            if "sent" in arg and "sent" not in found:
                item = self._find("out", arg["sent"], arg.get("payload"), arg.get("reply"))
                if item is None:
                    return False
                found["sent"] = item
            if "state" in arg and check(self.sim.state(), arg["state"], "state"):
                return False
            return True

        if not any(k in arg for k in ("operation", "sent", "state")):
            raise ScenarioError("expect needs operation, sent or state")
        if not self.sim.wait_for(satisfied, timeout):
            why = []
            if "operation" in arg and "operation" not in found:
                why.append(f"no {arg['operation']} from the Central System")
            if "sent" in arg and "sent" not in found:
                why.append(f"the charge point sent no matching {arg['sent']}")
            if "state" in arg:
                wrong = check(self.sim.state(), arg["state"], "state")
                if wrong:
                    why.append(wrong)
            raise ScenarioError(f"after {timeout:g} s: " + "; ".join(why))
        for item in found.values():
            self._consumed.add(item["seq"])
        return ", ".join(f"{v['action']} #{v['seq']}" for v in found.values())

    def _find(self, direction: str, action: str, payload: dict | None, reply: dict | None) -> dict | None:
        with self.sim._cond:
            items = list(self.sim.history)
        for item in items:
            if (item["seq"] <= self._since or item["seq"] in self._consumed
                    or item["direction"] != direction or item["action"].lower() != str(action).lower()):
                continue
            if item["error"] is None and _subset(item["payload"], payload) and _subset(item["reply"], reply):
                return item
        return None

    def _wait(self, arg: Any, step: dict) -> None:
        time.sleep(float(arg))

    def _plug(self, arg: Any, step: dict) -> str:
        self.sim.plug(int(arg or 1))
        return self._status(int(arg or 1))

    def _unplug(self, arg: Any, step: dict) -> str:
        self.sim.unplug(int(arg or 1))
        return self._status(int(arg or 1))

    def _status(self, n: int) -> str:
        return f"connector {n} {lookup(self.sim.state(), f'connectors.{n}.status')}"

    def _swipe(self, arg: Any, step: dict) -> str:
        if isinstance(arg, dict):
            tag, n, want = arg.get("tag"), arg.get("connector"), arg.get("expect")
        else:
            tag, n, want = arg, None, None
        if not tag:
            raise ScenarioError("swipe needs a tag")
        result = self.sim.swipe(str(tag), n)
        if want and result != want:
            raise ScenarioError(f"swipe {tag}: {result}, expected {want}")
        return result

    def _fault(self, arg: dict, step: dict) -> None:
        self.sim.fault(int(arg.get("connector", 0)), arg.get("code", "OtherError"))

    def _clear(self, arg: Any, step: dict) -> None:
        self.sim.clear_fault(int(arg or 0))

    def _stop(self, arg: Any, step: dict) -> str:
        return "stopped" if self.sim.stop_transaction(int(arg or 1)) else "no transaction"

    def _configure(self, arg: dict, step: dict) -> str:
        results = []
        for key, value in (arg or {}).items():
            if isinstance(value, bool):
                value = "true" if value else "false"
            status = self.sim.configure(key, str(value))
            if status not in ("Accepted", "RebootRequired"):
                raise ScenarioError(f"configure {key}={value}: {status}")
            results.append(f"{key} {status}")
        return ", ".join(results)

    def _assert(self, arg: dict, step: dict) -> None:
        if not isinstance(arg, dict):
            raise ScenarioError("assert needs {state.path: value}")
        wrong = check(self.sim.state(), arg, "state")
        if wrong:
            raise ScenarioError(wrong)


def describe(index: int, step: Any) -> str:
    if not isinstance(step, dict):
        return f"step {index}"
    if step.get("name"):
        return f"step {index} ({step['name']})"
    for kind in STEP_KINDS:
        if kind in step:
            arg = step[kind]
            if kind == "send" and isinstance(arg, dict):
                return f"step {index} (send {arg.get('action')})"
            if kind == "expect" and isinstance(arg, dict):
                what = arg.get("operation") or arg.get("sent") or "state"
                return f"step {index} (expect {what})"
            if isinstance(arg, dict):
                return f"step {index} ({kind})"
            return f"step {index} ({kind} {arg})"
    return f"step {index}"


def boot(sim: ChargePoint, timeout: float = DEFAULT_TIMEOUT) -> None:
    """Power on and wait for BootNotification Accepted (raises ScenarioError otherwise)."""
    sim.start()
    if not sim.wait_for(lambda: sim.core.registration == "Accepted", timeout):
        raise ScenarioError(f"boot: no BootNotification Accepted within {timeout:g} s "
                            f"(registration {sim.core.registration}, online {sim.core.online})")
