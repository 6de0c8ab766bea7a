"""The Central System for people who embed it: ``create_app`` and the ``CentralSystem`` app.

``CentralSystem`` is the WSGI application ``serve`` runs (SOAP endpoints, JSON API), with the
seams an integrator needs and nothing of the wire:

- ``@central.on("DataTransfer")`` replaces an operation's reply (see ``userhandlers``);
- ``@central.after("StartTransaction")`` runs once the reply is decided, on a worker thread of
  its own (in order), so slow follow-up work never delays the box;
- ``authorizer=`` decides every idTag (see ``authorization``);
- ``on_event=`` and the ``webhooks`` setting receive the events of ``events`` (see ``outbox``).

``create_app`` resolves settings as ``serve`` does (file, environment, then what the code gives,
then ``serve``'s own flags when it runs the factory with ``--app``).
"""

from __future__ import annotations

import gc
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .app import CentralApp, ServeOptions
from .authorization import Authorizer
from .commander import Commander, CommandFailed, CommandResult
from .events import COMMAND_RESULT, Event, from_message
from .handlers import OPERATIONS
from .outbox import EventCallback, Outbox
from .serveenv import SERVE_KEYS, serve_options_from_env
from .settings import CentralSettings
from .userhandlers import Context, UserCall, replacement

log = logging.getLogger("ocpp_soap.central")

Handler = Callable[..., dict[str, Any] | None]

#: Set by ``serve --app`` in each worker before the user's factory runs: the config file and
#: the flags ``serve`` was given (they win over what the factory's code says).
_served: tuple[str | None, dict[str, Any]] | None = None


class _EventfulCommander(Commander):
    """The commander, with a ``command.result`` event for each outcome."""

    def __init__(self, *args: Any, publish: Callable[[list[Event]], Any], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._publish = publish

    def _event(self, box: str, data: dict[str, Any]) -> None:
        self._publish([Event(COMMAND_RESULT, box, self.central.clock(), data)])

    def _send(self, box: str, endpoint: str, version: str, operation: str,
              payload: dict[str, Any], **kwargs: Any) -> CommandResult:
        try:
            result = super()._send(box, endpoint, version, operation, payload, **kwargs)
        except CommandFailed as exc:
            self._event(box, {"operation": operation, "outcome": exc.kind, "error": str(exc),
                              "request": payload, "pending_id": kwargs.get("pending_id")})
            raise
        self._event(box, {"operation": operation, "outcome": "reply", "reply": result.reply,
                          "request": payload, "pending_id": kwargs.get("pending_id")})
        return result

    def _queue(self, charge_box_id: str, operation: str, *args: Any, **kwargs: Any):
        result = super()._queue(charge_box_id, operation, *args, **kwargs)
        self._event(charge_box_id, {"operation": operation, "outcome": "queued",
                                    "pending_id": result.pending_id})
        return result


class CentralSystem(CentralApp):
    """The Central System as a WSGI application, with handlers, an authorizer and events."""

    def __init__(self, settings: CentralSettings | Mapping[str, Any] | None = None, *,
                 authorizer: Authorizer | None = None,
                 handlers: Mapping[str, Handler] | None = None,
                 on_event: EventCallback | Iterable[EventCallback] | None = None,
                 options: ServeOptions | None = None):
        if not isinstance(settings, CentralSettings):
            settings = CentralSettings.load(overrides=dict(settings or {}))
        super().__init__(settings, options)
        if authorizer is not None:
            self.authorizer = authorizer
        callbacks = [] if on_event is None else (
            [on_event] if callable(on_event) else list(on_event))
        self.outbox = Outbox(self.central.store, self.central.guard, self.settings, callbacks,
                             clock=self.central.clock)
        self.central.publisher = self.outbox
        self.commander = _EventfulCommander(self.central, self.cs_url,
                                            on_exchange=self._outgoing,
                                            on_queued=self.note_pending,
                                            publish=self.outbox.publish)
        self.api.commander = self.commander  # the API's commands report their results too
        self._domain_handlers = dict(self.handlers)
        self._replaced: dict[str, Callable] = {}
        self._after: dict[str, list[UserCall]] = defaultdict(list)
        self._after_pool: ThreadPoolExecutor | None = None
        for operation in OPERATIONS:
            self.handlers[operation] = self._instrumented(operation)
        for operation, fn in (handlers or {}).items():
            self.on(operation)(fn)
        self.outbox.start()

    # -- the seams -----------------------------------------------------------------------------
    @property
    def authorizer(self) -> Authorizer:
        return self.central.authorizer

    @authorizer.setter
    def authorizer(self, authorizer: Authorizer) -> None:
        if not callable(getattr(authorizer, "authorize", None)):
            raise TypeError("an authorizer needs an authorize(request) method")
        self.central.authorizer = authorizer

    def on(self, operation: str) -> Callable[[Handler], Handler]:
        """Decorator: ``fn(context, **payload) -> dict`` answers ``operation`` instead of the
        built-in handler (after the box was admitted)."""
        self._check(operation)

        def register(fn: Handler) -> Handler:
            self._replaced[operation] = self.central.guarded(
                replacement(self.central, operation, fn))
            return fn

        return register

    def after(self, operation: str) -> Callable[[Handler], Handler]:
        """Decorator: ``fn(context, **payload)`` runs after ``operation`` was answered
        (``context.reply`` holds the reply); its errors are logged, never sent."""
        self._check(operation)

        def register(fn: Handler) -> Handler:
            self._after[operation].append(UserCall(fn))
            return fn

        return register

    def on_event(self, callback: EventCallback) -> EventCallback:
        """Decorator: ``callback(event)`` for every event of this process."""
        self.outbox.callbacks.append(callback)
        self.outbox.start()
        return callback

    @staticmethod
    def _check(operation: str) -> None:
        if operation not in OPERATIONS:
            raise ValueError(f"unknown operation {operation!r}: one of {', '.join(OPERATIONS)}")

    # -- the operation table --------------------------------------------------------------------
    def _instrumented(self, operation: str) -> Callable:
        def handler(ctx: Any, payload: dict[str, Any]) -> dict[str, Any]:
            replaced = self._replaced.get(operation)
            reply = (replaced or self._domain_handlers[operation])(ctx, payload)
            # The domain publishes its own answers' events, inside the message's transaction
            # (``CentralSystem.publisher``); a user's reply is published here, just after.
            if replaced is not None and self.outbox.active:
                try:
                    events = from_message(operation, ctx.charge_box_id, self.central.clock(),
                                          payload, reply)
                except Exception:
                    log.exception("could not describe %s as events", operation)
                    events = []
                self.outbox.publish(events)
            hooks = self._after.get(operation)
            if hooks:
                context = Context.of(ctx, operation, reply)
                self._after_pool = self._after_pool or ThreadPoolExecutor(
                    1, thread_name_prefix="ocpp-soap-after")
                self._after_pool.submit(self._run_after, hooks, context, dict(payload))
            return reply

        handler.__name__ = operation
        return handler

    @staticmethod
    def _run_after(hooks: list[UserCall], context: Context, payload: dict[str, Any]) -> None:
        for hook in hooks:
            try:
                hook(context, payload)
            except Exception:
                log.exception("after-%s hook %s failed", context.operation,
                              getattr(hook.fn, "__name__", hook.fn))

    def close(self) -> None:
        if self._after_pool is not None:
            self._after_pool.shutdown(wait=True)
        self.outbox.close()
        super().close()


def create_app(settings: CentralSettings | Mapping[str, Any] | None = None, *,
               authorizer: Authorizer | None = None,
               handlers: Mapping[str, Handler] | None = None,
               on_event: EventCallback | Iterable[EventCallback] | None = None,
               config_file: str | None = None, **serve: Any) -> CentralSystem:
    """A ``CentralSystem`` with settings from the config file (``config_file`` or
    ``OCPP_SOAP_CONFIG``), the ``OCPP_SOAP_*`` environment, then ``settings`` (a mapping of
    setting names, or ready ``CentralSettings``); serve options (``api_token``,
    ``listen_host`` …) as keywords. Under ``serve --app`` the server's flags win."""
    unknown = set(serve) - SERVE_KEYS
    if unknown:
        raise TypeError(f"create_app() got unknown option(s) {', '.join(sorted(unknown))}")
    flags: dict[str, Any] = {}
    if _served is not None:
        served_file, served_kwargs = _served
        config_file = config_file or served_file
        flags = {k: v for k, v in served_kwargs.items() if k not in SERVE_KEYS}
        serve = {**serve, **{k: v for k, v in served_kwargs.items() if k in SERVE_KEYS}}
    if isinstance(settings, CentralSettings):
        resolved = settings.merged({k: v for k, v in flags.items() if v is not None})
    else:
        resolved = CentralSettings.load(config_file, overrides=dict(settings or {}))
        resolved = resolved.merged({k: v for k, v in flags.items() if v is not None})
    app = CentralSystem(resolved, authorizer=authorizer, handlers=handlers, on_event=on_event,
                        options=serve_options_from_env(**serve))
    gc.collect()
    gc.freeze()
    return app


def served(config_file: str | None, kwargs: dict[str, Any]) -> None:
    """Called by ``serve --app`` in each worker, before the factory runs."""
    global _served
    _served = (config_file, dict(kwargs))


__all__ = ["CentralSystem", "Context", "create_app"]
