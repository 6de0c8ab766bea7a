"""The vocabulary the message declarations are written in.

OCPP-S schemas use a small corner of XML Schema: string restrictions (maxLength or enumeration), one
decimal with fractionDigits, complex types that are plain sequences, and (1.5 only) one element whose
content is text with attributes. Declaring messages with these few immutable classes, instead of
writing Spyne classes or WSDL by hand, lets one declaration drive the Spyne models, the generated WSDL,
lenient reading and the conformance test.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

UNBOUNDED = None


@dataclass(frozen=True)
class Builtin:
    """An XML Schema built-in type (``xs:int``, ``xs:string`` …)."""

    name: str


STRING = Builtin("string")
INT = Builtin("int")
DATETIME = Builtin("dateTime")
BOOLEAN = Builtin("boolean")
ANYURI = Builtin("anyURI")
DECIMAL = Builtin("decimal")


@dataclass(frozen=True)
class Restricted:
    """A named simple type: a built-in narrowed by facets."""

    name: str
    base: Builtin
    max_length: int | None = None
    enumeration: tuple[str, ...] = ()
    fraction_digits: int | None = None

    @property
    def is_enum(self) -> bool:
        return bool(self.enumeration)


SimpleType = Builtin | Restricted


@dataclass(frozen=True)
class Attribute:
    """An optional attribute of a text-with-attributes element."""

    name: str
    type: SimpleType


@dataclass(frozen=True)
class TextWithAttributes:
    """An anonymous type whose content is text plus attributes (1.5 ``MeterValue/value``)."""

    base: Builtin
    attributes: tuple[Attribute, ...]


@dataclass(frozen=True)
class Field:
    """One element of a complex type's sequence."""

    name: str
    type: SimpleType | Complex | TextWithAttributes
    min_occurs: int = 1
    max_occurs: int | None = 1

    @property
    def required(self) -> bool:
        return self.min_occurs > 0

    @property
    def repeated(self) -> bool:
        return self.max_occurs is None or self.max_occurs > 1


@dataclass(frozen=True)
class Complex:
    """A named complex type: a sequence of fields (possibly empty)."""

    name: str
    fields: tuple[Field, ...] = ()

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"{self.name} has no field {name!r}")


def complex_type(name: str, *fields: Field) -> Complex:
    return Complex(name, tuple(fields))


def text(name: str, max_length: int) -> Restricted:
    """A string of at most ``max_length`` characters."""
    return Restricted(name, STRING, max_length=max_length)


def enum(name: str, values: str) -> Restricted:
    """A string enumeration; ``values`` is whitespace-separated."""
    return Restricted(name, STRING, enumeration=tuple(values.split()))


def req(name: str, type_: SimpleType | Complex | TextWithAttributes) -> Field:
    """A mandatory single element."""
    return Field(name, type_, 1, 1)


def opt(name: str, type_: SimpleType | Complex | TextWithAttributes) -> Field:
    """An optional single element."""
    return Field(name, type_, 0, 1)


def many(name: str, type_: SimpleType | Complex | TextWithAttributes, min_occurs: int = 0) -> Field:
    """A repeated element without an upper bound."""
    return Field(name, type_, min_occurs, UNBOUNDED)


@dataclass(frozen=True)
class Operation:
    """One OCPP operation: its name, request and response types.

    The body elements are the type names with a lower-case first letter
    (``BootNotificationRequest`` → ``bootNotificationRequest``), as in every official WSDL.
    """

    name: str
    request: Complex
    response: Complex

    @property
    def request_element(self) -> str:
        return _lower_first(self.request.name)

    @property
    def response_element(self) -> str:
        return _lower_first(self.response.name)

    @property
    def action(self) -> str:
        return "/" + self.name

    @property
    def response_action(self) -> str:
        return "/" + self.name + "Response"


def operations(names: str, *scopes: dict) -> tuple[Operation, ...]:
    """Operations by name; each one's ``<Name>Request``/``<Name>Response`` types are taken from
    the first scope (a version module's globals, then the shared types) that declares them."""

    def find(type_name: str) -> Complex:
        for scope in scopes:
            found = scope.get(type_name)
            if isinstance(found, Complex):
                return found
        raise LookupError(f"no declaration of {type_name}")

    return tuple(Operation(n, find(n + "Request"), find(n + "Response"))
                 for n in sorted(names.split()))


def _lower_first(name: str) -> str:
    return name[0].lower() + name[1:]


@dataclass(frozen=True)
class ServiceSchema:
    """Everything about one (version, service) pair that the wire needs."""

    version: str
    service: str
    namespace: str
    operations: tuple[Operation, ...]
    header_element: str = "chargeBoxIdentity"
    _by_name: dict[str, Operation] = field(default_factory=dict, compare=False, repr=False)
    _by_element: dict[str, tuple[Operation, str]] = field(default_factory=dict, compare=False,
                                                          repr=False)

    def __post_init__(self) -> None:
        for op in self.operations:
            self._by_name[op.name] = op
        # Every incoming message is looked up by its body element: one dict, built once.
        for op in reversed(self.operations):
            self._by_element[op.response_element] = (op, "response")
            self._by_element[op.request_element] = (op, "request")

    def operation(self, name: str) -> Operation:
        return self._by_name[name]

    def has(self, name: str) -> bool:
        return name in self._by_name

    def by_element(self, element: str) -> tuple[Operation, str] | None:
        """(operation, "request"|"response") for a body element's local name."""
        return self._by_element.get(element)

    def types(self) -> Iterator[Restricted | Complex]:
        """Every named type this service uses, each once, dependencies first."""
        seen: dict[str, Restricted | Complex] = {}

        def visit(t: object) -> None:
            if isinstance(t, Complex):
                for f in t.fields:
                    visit(f.type)
            elif isinstance(t, TextWithAttributes):
                for a in t.attributes:
                    visit(a.type)
            if isinstance(t, Restricted | Complex) and t.name not in seen:
                seen[t.name] = t

        for op in self.operations:
            visit(op.request)
            visit(op.response)
        return iter(seen.values())


def version_services(version: str, scope: dict, shared: dict, central_names: str,
                     chargepoint_names: str) -> dict[str, ServiceSchema]:
    """Both services of a version, their operations found in ``scope`` (the version module's
    own declarations) and then in ``shared`` (the types both versions share)."""
    from ocpp_soap.soap.versions import CENTRAL, CHARGEPOINT, namespace

    return {
        service: ServiceSchema(version, service, namespace(version, service),
                               operations(names, scope, shared))
        for service, names in ((CENTRAL, central_names), (CHARGEPOINT, chargepoint_names))
    }
