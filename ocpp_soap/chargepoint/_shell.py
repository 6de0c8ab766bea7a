"""An interactive prompt for one simulated charge point (``ocpp-soap chargepoint shell``).

Every charge point → Central System message is a command named after it, taking ``field=value``
words (``bootnotification chargePointVendor="DBT"``, ``heartbeat``, ``statusnotification connectorId=1
status=Available errorCode=NoError``); values are typed from the version's schema, a structure is given
as ``field=json:{...}``, and obvious fields (timestamps, meter readings, the boot data) are filled in.
The driver's actions (``plug``, ``unplug``, ``swipe``, ``fault``…) act on the simulated hardware,
whose own messages then follow as a real charger's would.

It reads from a terminal (completion, history) or from piped stdin (one command a line, ``#``
comments), so it can be scripted and tested.
"""

from __future__ import annotations

import cmd
import json
import os
import sys
import time
from typing import IO, Any

from ocpp_soap.chargepoint._core import ERROR_CODES
from ocpp_soap.chargepoint._render import summarize, to_json
from ocpp_soap.chargepoint._simulator import CS_ACTIONS, ChargePoint, request_type

HISTORY_FILE = "~/.ocpp_soap_chargepoint_history"


def split_words(line: str) -> list[str]:
    """Split on blanks outside quotes and brackets (so JSON values keep their quotes)."""
    words, cur, quote, depth = [], [], None, 0
    for ch in line:
        if quote:
            cur.append(ch)
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
            cur.append(ch)
        elif ch in "[{":
            depth += 1
            cur.append(ch)
        elif ch in "]}":
            depth = max(0, depth - 1)
            cur.append(ch)
        elif ch.isspace() and depth == 0:
            if cur:
                words.append("".join(cur))
                cur = []
        else:
            cur.append(ch)
    if quote:
        raise ValueError("unbalanced quote")
    if cur:
        words.append("".join(cur))
    return words


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    return text


def parse_fields(words: list[str]) -> dict[str, Any]:
    """``field=value`` words → dict; ``field=json:...`` parses JSON."""
    out: dict[str, Any] = {}
    for word in words:
        name, eq, value = word.partition("=")
        if not eq or not name:
            raise ValueError(f"expected field=value, got {word!r}")
        value = _unquote(value)
        if value.startswith("json:"):
            try:
                text = value[5:]
                if len(text) >= 2 and text[0] == text[-1] == "'":  # JSON never starts with '
                    text = text[1:-1]
                out[name] = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{name}: bad JSON: {exc}") from None
        else:
            out[name] = value
    return out


def _field_help(action: str, versions: tuple[str, ...] = ("1.5", "1.6")) -> str:
    fields = []
    for version in versions:
        for f in request_type(version, action).fields:
            word = f.name + ("*" if f.required else "")
            if word not in fields:
                fields.append(word)
    return ", ".join(fields) or "(no fields)"


class ChargePointShell(cmd.Cmd):
    """The prompt. ``failures`` counts commands that raised (bad input, CS unreachable, faults)."""

    intro_text = "Type help for the commands, quit to leave."

    def __init__(self, sim: ChargePoint, stdin: IO[str] | None = None,
                 stdout: IO[str] | None = None, history: str | None = HISTORY_FILE) -> None:
        stdin = stdin or sys.stdin
        stdout = stdout or sys.stdout
        super().__init__(stdin=stdin, stdout=stdout)
        self.sim = sim
        self.interactive = stdin.isatty() if hasattr(stdin, "isatty") else False
        self.use_rawinput = self.interactive and stdin is sys.stdin
        self.prompt = f"{sim.identity}> " if self.interactive else ""
        self.intro = self.intro_text if self.interactive else None
        self.failures = 0
        self.history = os.path.expanduser(history) if history and self.interactive else None
        sim.echo = self.say

    # ------------------------------------------------------------------ plumbing
    def say(self, text: str) -> None:
        self.stdout.write(text + "\n")
        self.stdout.flush()

    def preloop(self) -> None:
        if self.history:
            try:
                import readline

                readline.read_history_file(self.history)
            except (ImportError, OSError):
                pass

    def postloop(self) -> None:
        if self.history:
            try:
                import readline

                readline.set_history_length(1000)
                readline.write_history_file(self.history)
            except (ImportError, OSError):
                pass

    def precmd(self, line: str) -> str:
        stripped = line.strip()
        if stripped.startswith("#"):
            return ""
        if not self.interactive and stripped and stripped != "EOF":
            self.say(f"> {stripped}")
        return line

    def onecmd(self, line: str) -> bool:
        try:
            return bool(super().onecmd(line))
        except KeyboardInterrupt:
            self.say("interrupted")
            return False
        except Exception as exc:
            self.failures += 1
            self.say(f"error: {exc}")
            return False

    def emptyline(self) -> bool:
        return False

    def default(self, line: str) -> bool:
        self.failures += 1
        self.say(f"unknown command: {line.split()[0]} (try help)")
        return False

    def _int(self, word: str, what: str = "connector") -> int:
        try:
            return int(word)
        except ValueError:
            raise ValueError(f"{what} must be a number, not {word!r}") from None

    # ------------------------------------------------------------------ CP→CS messages
    def send(self, action: str, arg: str) -> None:
        payload = parse_fields(split_words(arg))
        reply = self.sim.send(action, payload)
        self.say(f"← {summarize(reply, reply=True) or 'OK'}  {json.dumps(to_json(reply))}")

    def complete_fields(self, action: str, text: str) -> list[str]:
        names = [f.name for f in request_type(self.sim.version, action).fields]
        return [n + "=" for n in names if n.startswith(text)]

    # ------------------------------------------------------------------ the hardware
    def do_plug(self, arg: str) -> None:
        """plug N: the driver plugs the cable into connector N (default 1)."""
        self.sim.plug(self._int(arg.strip() or "1"))
        self._show_connector(int(arg.strip() or "1"))

    def do_unplug(self, arg: str) -> None:
        """unplug N: the cable comes out of connector N (a running transaction stops)."""
        self.sim.unplug(self._int(arg.strip() or "1"))
        self._show_connector(int(arg.strip() or "1"))

    def do_swipe(self, arg: str) -> None:
        """swipe TAG [N]: present an RFID card (starts, or stops the tag's own transaction)."""
        words = arg.split()
        if not words:
            raise ValueError("usage: swipe TAG [N]")
        n = self._int(words[1]) if len(words) > 1 else None
        self.say(self.sim.swipe(words[0], n))

    def do_fault(self, arg: str) -> None:
        """fault N CODE: a hardware error on connector N (0 = the whole box), e.g. fault 1 GroundFailure."""
        words = arg.split()
        if len(words) != 2:
            raise ValueError("usage: fault N CODE (codes: " + ", ".join(sorted(ERROR_CODES[self.sim.version])) + ")")
        self.sim.fault(self._int(words[0]), words[1])

    def complete_fault(self, text: str, line: str, *_: Any) -> list[str]:
        words = line.split()
        if (len(words) == 2 and not text) or (len(words) == 3 and text):
            return [c for c in sorted(ERROR_CODES[self.sim.version]) if c.startswith(text)]
        return []

    def do_clear(self, arg: str) -> None:
        """clear N: the fault on connector N (0 = box) is gone."""
        self.sim.clear_fault(self._int(arg.strip() or "0"))

    def do_stop(self, arg: str) -> None:
        """stop N [REASON]: the local stop button of connector N."""
        words = arg.split() or ["1"]
        stopped = self.sim.stop_transaction(self._int(words[0]), words[1] if len(words) > 1 else "Local")
        self.say("stopped" if stopped else "no transaction")

    def do_state(self, arg: str) -> None:
        """state: the charge point's state as JSON."""
        self.say(json.dumps(self.sim.state(), indent=1))

    def _show_connector(self, n: int) -> None:
        c = self.sim.state()["connectors"][n - 1]
        tx = c["transaction"]
        self.say(f"connector {n}: {c['status']}" + (f", transaction {tx['id']}" if tx else ""))

    def do_config(self, arg: str) -> None:
        """config [KEY [VALUE]]: show every key, one key, or change one (as ChangeConfiguration would)."""
        words = arg.split(None, 1)
        if len(words) == 2:
            self.say(self.sim.configure(words[0], words[1]))
            return
        known, unknown = self.sim.configuration(words[:1] or None)
        for item in known:
            self.say(f"{item['key']} = {item['value']}{'  (read-only)' if item['readonly'] else ''}")
        for key in unknown:
            self.say(f"{key}: unknown key")

    def complete_config(self, text: str, *_: Any) -> list[str]:
        return [k for k in self.sim.core.config.defs if k.startswith(text)]

    def do_envelopes(self, arg: str) -> None:
        """envelopes on|off: print every SOAP envelope sent and received."""
        if arg.strip() not in ("on", "off"):
            raise ValueError("usage: envelopes on|off")
        self.sim.enable_envelopes(arg.strip() == "on")

    def do_power(self, arg: str) -> None:
        """power on|off: switch the charge point on (boot) or off (state kept)."""
        if arg.strip() == "on":
            self.sim.start()
        elif arg.strip() == "off":
            self.sim.stop()
        else:
            raise ValueError("usage: power on|off")

    def do_wait(self, arg: str) -> None:
        """wait S: do nothing for S seconds (scripts: let timers and the CS act)."""
        time.sleep(float(arg.strip() or "1"))

    def do_quit(self, arg: str) -> bool:
        """quit: leave (the charge point is switched off)."""
        return True

    do_exit = do_quit

    def do_EOF(self, arg: str) -> bool:  # noqa: N802 (cmd.Cmd's name for end of input)
        if self.interactive:
            self.say("")
        return True

    def do_help(self, arg: str) -> None:
        """help [COMMAND]: this list, or one command's fields."""
        if arg:
            super().do_help(arg)
            return
        self.say(f"Messages to the Central System (OCPP {self.sim.version}), as field=value words:")
        for action in CS_ACTIONS:
            self.say(f"  {action.lower():<30} {_field_help(action, (self.sim.version,))}")
        self.say("  (field=json:{...} for structures; * = required, defaults filled where obvious)")
        self.say("The charge point:")
        for name in ("plug", "unplug", "swipe", "fault", "clear", "stop", "state", "config",
                     "envelopes", "power", "wait", "help", "quit"):
            doc = (getattr(self, f"do_{name}").__doc__ or "").strip().splitlines()[0]
            self.say(f"  {doc}")


def _message_command(action: str):
    def do(self: ChargePointShell, arg: str) -> None:
        self.send(action, arg)

    def complete(self: ChargePointShell, text: str, *_: Any) -> list[str]:
        return self.complete_fields(action, text)

    do.__doc__ = f"{action.lower()} field=value ...: send {action}. Fields: {_field_help(action)}"
    return do, complete


for _action in CS_ACTIONS:
    _do, _complete = _message_command(_action)
    setattr(ChargePointShell, f"do_{_action.lower()}", _do)
    setattr(ChargePointShell, f"complete_{_action.lower()}", _complete)
