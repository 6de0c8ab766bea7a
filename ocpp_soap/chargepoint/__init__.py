"""The charge point simulator's public face: what scripts and other projects may rely on.

``ChargePoint`` is one simulated OCPP-S 1.5/1.6 charge point, the same class the
``ocpp-soap chargepoint`` commands run. ``ChargePoint.on("Reset")`` replaces its answer to one
Central System → charge point operation; the override gets a ``HandlerContext`` and the request's
fields as snake_case keyword arguments, and refuses a request by raising one of the OCPP-S faults
listed here (each becomes the SOAP 1.2 fault of that subcode). ``SimConfig`` describes the
hardware (vendor, model, power, configuration keys); a plain dict of the same fields works too.
``Scheduler`` runs the timers of charge points (one thread, a small worker pool); every charge
point shares the process's own unless it is given one (``ChargePoint(..., scheduler=…)``), which
its owner shuts down when done.

Everything else lives in modules whose names start with ``_`` (the core state machine, the
built-in operations, the shell …): they change as the simulator grows, so nothing outside the
package should import them. ``cli`` is the command line's entry point.
"""

from ocpp_soap.chargepoint._config import SimConfig
from ocpp_soap.chargepoint._routing import HandlerContext
from ocpp_soap.chargepoint._scheduler import Scheduler
from ocpp_soap.chargepoint._simulator import ChargePoint
from ocpp_soap.soap.faults import (
    InternalError,
    NotSupported,
    OcppFault,
    ProtocolError,
    SecurityError,
)

__all__ = [
    "ChargePoint",
    "HandlerContext",
    "InternalError",
    "NotSupported",
    "OcppFault",
    "ProtocolError",
    "Scheduler",
    "SecurityError",
    "SimConfig",
]
