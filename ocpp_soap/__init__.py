"""ocpp-soap: OCPP 1.5 and 1.6 over SOAP (OCPP-S) for Central Systems and charge points."""

__version__ = "0.1.0"
