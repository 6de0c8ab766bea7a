"""ocpp-soap: OCPP 1.5 and 1.6 over SOAP (OCPP-S) for Central Systems and charge points.

The Python API lives in the subpackages, each listing its public names in ``__all__``:
``ocpp_soap.central`` (embedding a Central System), ``ocpp_soap.chargepoint`` (scripting a
simulated charge point), ``ocpp_soap.soap`` (the wire: client, endpoint, faults),
``ocpp_soap.messages`` (the message schemas) and ``ocpp_soap.tools`` (read, diff, validate and
capture envelopes). Here: only the version.
"""

from .soap import spyne_compat as _spyne_compat

# Before any module of the package can import Spyne (they all import this package first).
_spyne_compat.apply()

__version__ = "0.1.0"

__all__ = ["__version__"]
