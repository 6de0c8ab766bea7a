"""The simulator's old import path, kept so code written against it keeps working.

New code imports :class:`ocpp_soap.chargepoint.ChargePoint`. ``SimulatedChargePoint`` is that
same class under its former name, not a second implementation.
"""

from ocpp_soap.chargepoint._simulator import ChargePoint as SimulatedChargePoint
from ocpp_soap.chargepoint._simulator import new_scheduler

__all__ = ["SimulatedChargePoint", "new_scheduler"]
