"""Spyne model classes derived from the message declarations.

Spyne needs classes; the declarations are data. Building the classes here, once per
(version, service), keeps the two in step by construction. Choices that avoid known Spyne traps:

- enumerations are ``Unicode(values=…)`` rather than ``Enum``, so handlers get plain ``str`` (Spyne's
  ``EnumValue`` compares unequal to strings); validation is done before Spyne sees the document
  (``reader``), so Spyne itself runs without a validator;
- every required field says ``min_occurs=1, nillable=False`` explicitly;
- the 1.5 text-with-attributes ``value`` element becomes a class with ``XmlData`` and ``XmlAttribute``.
"""

from __future__ import annotations

from functools import cache

from spyne.model.complex import ComplexModel, XmlAttribute, XmlData
from spyne.model.primitive import AnyUri, Boolean, DateTime, Decimal, Int, Unicode

from ocpp_soap.messages.catalog import service_schema
from ocpp_soap.messages.schema import (
    Builtin,
    Complex,
    Field,
    Restricted,
    ServiceSchema,
    TextWithAttributes,
)

_BUILTINS = {
    "string": Unicode,
    "int": Int,
    "dateTime": DateTime,
    "boolean": Boolean,
    "anyURI": AnyUri,
    "decimal": Decimal,
}


class ModelSet:
    """The Spyne classes of one (version, service)."""

    def __init__(self, schema: ServiceSchema):
        self.schema = schema
        self.ns = schema.namespace
        self._complex: dict[str, type[ComplexModel]] = {}
        self.header = type(
            "ChargeBoxIdentity",
            (Unicode,),
            {"__type_name__": schema.header_element, "__namespace__": self.ns},
        )
        self.requests: dict[str, type[ComplexModel]] = {}
        self.responses: dict[str, type[ComplexModel]] = {}
        for op in schema.operations:
            self.requests[op.name] = self.complex(op.request)
            self.responses[op.name] = self.complex(op.response)

    def simple(self, t: Builtin | Restricted):
        if isinstance(t, Builtin):
            return _BUILTINS[t.name]
        base = _BUILTINS[t.base.name]
        kwargs: dict = {"type_name": t.name}
        if t.enumeration:
            kwargs["values"] = list(t.enumeration)
        if t.max_length is not None:
            kwargs["max_len"] = t.max_length
        if t.fraction_digits is not None:
            kwargs["fraction_digits"] = t.fraction_digits
        return base.customize(**kwargs)

    def text_with_attributes(self, owner: str, f: Field, t: TextWithAttributes):
        members = [("value", XmlData(self.simple(t.base)))]
        members += [(a.name, XmlAttribute(self.simple(a.type))) for a in t.attributes]
        return type(
            f"{owner}_{f.name}",
            (ComplexModel,),
            {"__namespace__": self.ns, "__type_name__": f"{owner}_{f.name}", "_type_info": members},
        )

    def field_model(self, owner: str, f: Field):
        t = f.type
        if isinstance(t, Complex):
            model = self.complex(t)
        elif isinstance(t, TextWithAttributes):
            model = self.text_with_attributes(owner, f, t)
        else:
            model = self.simple(t)
        return model.customize(
            min_occurs=f.min_occurs,
            max_occurs="unbounded" if f.max_occurs is None else f.max_occurs,
            nillable=False,
        )

    def complex(self, t: Complex) -> type[ComplexModel]:
        if t.name not in self._complex:
            members = [(f.name, self.field_model(t.name, f)) for f in t.fields]
            self._complex[t.name] = type(
                t.name,
                (ComplexModel,),
                {"__namespace__": self.ns, "__type_name__": t.name, "_type_info": members},
            )
        return self._complex[t.name]


@cache
def models(version: str, service: str) -> ModelSet:
    return ModelSet(service_schema(version, service))
