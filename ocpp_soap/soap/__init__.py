"""The wire: SOAP 1.2 envelopes, WS-Addressing, faults, versions, Spyne and zeep glue."""
