"""The Central System role: domain core, storage and (later) its outside faces.

Kept import-light on purpose: the WSGI app, the CLI and the tests import the pieces they need
(``ocpp_soap.central.domain``, ``ocpp_soap.central.storage``) directly.
"""
