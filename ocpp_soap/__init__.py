"""ocpp-soap: OCPP 1.5 and 1.6 over SOAP (OCPP-S) for Central Systems and charge points."""

from .soap import spyne_compat as _spyne_compat

# Before any module of the package can import Spyne (they all import this package first).
_spyne_compat.apply()

__version__ = "0.1.0"
