"""The XML Schema of an OCPP service, taken from a WSDL's ``<types>``.

Strict reading, the ``validate`` command and the tests all check bodies against the same schema, so
it is built once per WSDL file and cached. Parsing never touches the network.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from lxml import etree

from ocpp_soap import paths

XSD_NS = "http://www.w3.org/2001/XMLSchema"
WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"

_SAFE = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def schema_from_wsdl(wsdl_file: str | Path) -> etree.XMLSchema:
    """Build an XMLSchema from the single ``<xs:schema>`` inside ``wsdl_file``."""
    return _schema_from_wsdl(str(Path(wsdl_file).resolve()))


@cache
def _schema_from_wsdl(wsdl_file: str) -> etree.XMLSchema:
    tree = etree.parse(wsdl_file, _SAFE)
    schema = tree.find(f"{{{WSDL_NS}}}types/{{{XSD_NS}}}schema")
    if schema is None:
        raise ValueError(f"{wsdl_file}: no xs:schema under wsdl:types")
    # The schema element inherits namespace declarations (tns, s) from wsdl:definitions; a deep
    # copy keeps them in scope once it stands alone.
    return etree.XMLSchema(etree.fromstring(etree.tostring(schema)))


@cache
def body_schema(version: str, service: str) -> etree.XMLSchema:
    """The schema of the project's own WSDL for (version, service) (looked up once per process;
    this runs for every request)."""
    return schema_from_wsdl(paths.wsdl_path(version, service))
