"""The route table (``central/routes.py``) against what is served, over real HTTP on 127.0.0.1.

- the werkzeug rules the running API matches and the paths of its OpenAPI document agree both
  ways (and the comparison does catch a rule without a path, or a path without a rule);
- every route of the table has an entry in ``SAMPLES`` (a test fails when one is added without),
  and each is called with it: the answer's status is the expected one, documented for that route,
  and its body fits the documented schema;
- every body field of every route with a body is checked against its schema: unknown, missing,
  wrong type, null, out of range each answer 422 naming the field, and nothing is stored;
- the same-site checks (403), the token (401) and the media type (415) come before the body.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule

from ocpp_soap.central import routes
from ocpp_soap.central.api import ApiApp
from ocpp_soap.central.jsonbody import json_schema
from ocpp_soap.messages.examples import TAG, example
from ocpp_soap.soap.client import OcppClient
from tests.central.embedding_support import Receiver
from tests.central.test_api_resources import CS, charger_session
from tests.central.test_api_support import assert_error, fits_schema, running_api, wait_for

JSON = {"Content-Type": "application/json"}
METHODS = {"get", "put", "post", "delete", "patch"}
BOX = "CB-1001"


# --------------------------------------------------------------------- rules against the document

def route_mismatches(url_map: Map, doc: dict[str, Any]) -> list[str]:
    """What one side has and the other lacks: a werkzeug rule (and method) that no document
    path reaches, or a document path and method that no rule answers."""
    problems = []
    adapter = url_map.bind("localhost")
    reached: set[tuple[str, str]] = set()
    for path, item in doc["paths"].items():
        url = path.replace("{", "").replace("}", "")  # a sample value for every template
        for method in sorted(set(item) & METHODS):
            try:
                rule, _ = adapter.match(url, method=method.upper(), return_rule=True)
            except (NotFound, MethodNotAllowed):
                problems.append(f"{method.upper()} {path}: documented, but no rule answers it")
                continue
            reached.add((rule.rule, method.upper()))
    for rule in url_map.iter_rules():
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            if (rule.rule, method) not in reached:
                problems.append(f"{method} {rule.rule}: a rule, but no document path")
    return problems


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A Central System with one of each thing: a box that had a charging session, an open
    transaction, a tag, a failed command in the log, a queued command, a box to command."""
    receiver = Receiver().start()
    hooks = [{"name": "billing", "url": receiver.url, "secret": "s3cret"}]
    with running_api(tmp_path_factory.mktemp("cs"), webhooks=hooks) as api:
        api.admin.add_chargebox(BOX)
        api.admin.add_tag(TAG)
        closed = charger_session(api, BOX)
        api.admin.add_chargebox("NOWHERE", ocpp_version="1.6")
        api.admin.add_chargebox("GONE", ocpp_version="1.6",
                                endpoint="http://127.0.0.1:9/ocpp/ChargePointService")
        assert api.post("/chargeboxes/GONE/operations/ClearCache", {}).status_code == 502
        api.app.central.queue_command("NOWHERE", "ClearCache", {})
        wait_for(lambda: api.get("/messages").json()["items"])
        assert wait_for(lambda: api.get("/webhooks/deliveries",
                                        params={"state": "delivered"}).json()["items"], 30)
        doc = api.get("/openapi.json").json()
        yield api, doc, {"closed": closed}
    receiver.stop()


def test_rules_and_document_agree(world):
    api, doc, _ = world
    assert route_mismatches(api.app.api.url_map, doc) == []


def test_a_rule_without_a_document_path_is_found(world):
    api, doc, _ = world
    extra = Map([*(Rule(r.rule, endpoint=r.endpoint, methods=r.methods)
                   for r in api.app.api.url_map.iter_rules()),
                 Rule("/secret", endpoint="secret", methods=["GET"]),
                 Rule("/idtags/<idTag>", endpoint="replace_tag", methods=["PUT"])],
                strict_slashes=False)
    assert sorted(route_mismatches(extra, doc)) == [
        "GET /secret: a rule, but no document path",
        "PUT /idtags/<idTag>: a rule, but no document path"]


def test_a_document_path_without_a_rule_is_found(world):
    api, doc, _ = world
    doctored = copy.deepcopy(doc)
    doctored["paths"]["/tariffs"] = {"get": {}}
    doctored["paths"]["/idtags"]["put"] = {}
    assert sorted(route_mismatches(api.app.api.url_map, doctored)) == [
        "GET /tariffs: documented, but no rule answers it",
        "PUT /idtags: documented, but no rule answers it"]


def test_the_table_is_whole():
    endpoints = [r.endpoint for r in routes.ROUTES]
    assert len(endpoints) == len(set(endpoints))
    assert len({r.operation_id for r in routes.ROUTES}) == len(routes.ROUTES)
    assert len({(r.method, r.path) for r in routes.ROUTES}) == len(routes.ROUTES)
    handlers = {name[3:] for name in dir(ApiApp) if name.startswith("on_")}
    assert handlers == set(endpoints), "a handler without a route, or a route without handler"
    for r in routes.ROUTES:
        assert r.body is None or r.body == routes.OCPP_REQUEST or r.body in routes.BODIES, r
        declared = [p for p in r.params if "$ref" not in p and p["in"] == "path"]
        declared += [routes.PARAMETERS[p["$ref"].rsplit("/", 1)[1]] for p in r.params
                     if "$ref" in p]
        in_path = [p["name"] for p in declared if p["in"] == "path"]
        assert set(in_path) | {"operation"} >= set(r.path_names), r.path
        assert set(in_path) <= set(r.path_names), r.path


# --------------------------------------------------------------------- every route, called

@dataclass
class Call:
    """How a route's sample is called: its path values, body and query, and what it answers."""

    status: int
    values: dict[str, str] = field(default_factory=dict)
    body: Any = None
    params: dict[str, str] | None = None


_METER = itertools.count(7)


def _open_transaction(api) -> str:
    """A new transaction its box started (over SOAP) and never stopped."""
    client = OcppClient("1.6", CS, BOX, api.server.url + "/ocpp/1.6/CentralSystemService",
                        from_address="http://127.0.0.1:9/ocpp/ChargePointService")
    start = {**example("1.6", CS, "StartTransaction")[0], "connectorId": 2,
             "meterStart": next(_METER)}
    return str(client.call("StartTransaction", start)["transactionId"])


def _new_box(api, name: str) -> dict[str, str]:
    api.admin.add_chargebox(name)
    return {"id": name}


def _new_tag(api, name: str) -> dict[str, str]:
    api.admin.add_tag(name)
    return {"idTag": name}


#: One sample call per route of the table, by endpoint; each gets the API and what ``world``
#: made. A route without an entry fails ``test_every_route_has_a_sample``.
SAMPLES: dict[str, Callable[[Any, dict[str, Any]], Call]] = {
    "openapi": lambda api, w: Call(200),
    "list_boxes": lambda api, w: Call(200, params={"registration_status": "Accepted"}),
    "add_box": lambda api, w: Call(201, body={"charge_box_id": "NEW-BOX", "description": "new"}),
    "get_box": lambda api, w: Call(200, {"id": BOX}),
    "update_box": lambda api, w: Call(200, {"id": BOX}, {"description": "yard"}),
    "remove_box": lambda api, w: Call(204, _new_box(api, "DOOMED")),
    "set_endpoint": lambda api, w: Call(200, _new_box(api, "MANUAL"),
                                        {"address": "http://10.0.0.5:8080/ocpp"}),
    "clear_endpoint": lambda api, w: Call(200, {"id": BOX}),
    "box_events": lambda api, w: Call(200, {"id": BOX}),
    "box_connectors": lambda api, w: Call(200, {"id": BOX}),
    "list_tags": lambda api, w: Call(200, params={"status": "Accepted"}),
    "add_tag": lambda api, w: Call(201, body={"id_tag": "NEW-TAG", "note": "new"}),
    "get_tag": lambda api, w: Call(200, {"idTag": TAG}),
    "update_tag": lambda api, w: Call(200, {"idTag": TAG}, {"note": "fleet"}),
    "remove_tag": lambda api, w: Call(204, _new_tag(api, "DOOMED-TAG")),
    "block_tag": lambda api, w: Call(200, _new_tag(api, "BLOCK-ME")),
    "unblock_tag": lambda api, w: Call(200, {"idTag": TAG}),
    "list_transactions": lambda api, w: Call(200, params={"chargebox": BOX}),
    "get_transaction": lambda api, w: Call(200, {"id": str(w["closed"])}),
    "close_transaction": lambda api, w: Call(200, {"id": _open_transaction(api)},
                                             {"note": "stale"}),
    "list_meter_values": lambda api, w: Call(200, params={"transaction": str(w["closed"])}),
    "connectors": lambda api, w: Call(200),
    "messages": lambda api, w: Call(200, params={"direction": "in"}),
    "commands": lambda api, w: Call(200),
    "list_pending": lambda api, w: Call(200, params={"state": "queued"}),
    "box_pending": lambda api, w: Call(200, {"id": "NOWHERE"}, params={"include_taken": "true"}),
    "cancel_pending": lambda api, w: Call(
        204, {"id": str(api.app.central.queue_command("NOWHERE", "Reset", {"type": "Soft"}))}),
    "webhook_deliveries": lambda api, w: Call(200, params={"state": "delivered"}),
    "call": lambda api, w: Call(202, {"id": "NOWHERE", "operation": "ClearCache"}, {},
                                {"queue": "true"}),
}


def test_every_route_has_a_sample():
    missing = sorted(set(routes.BY_ENDPOINT) - set(SAMPLES))
    stale = sorted(set(SAMPLES) - set(routes.BY_ENDPOINT))
    assert not missing, f"routes without a sample in SAMPLES: {missing}"
    assert not stale, f"samples of routes the table no longer has: {stale}"


@pytest.mark.parametrize("route", routes.ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_every_route_answers_as_documented(world, route):
    api, doc, made = world
    if route.endpoint not in SAMPLES:
        pytest.fail(f"no sample for {route.endpoint} in SAMPLES")
    call = SAMPLES[route.endpoint](api, made)
    url = route.path.format(**call.values)
    documented = route.path.replace("{operation}", call.values.get("operation", "{operation}"))
    r = api.request(route.method, url, params=call.params,
                    **({} if call.body is None else {"json": call.body}))
    assert r.status_code == call.status, r.text
    answers = doc["paths"][documented][route.method.lower()]["responses"]
    assert str(r.status_code) in answers, (route.path, r.status_code)
    content = answers[str(r.status_code)].get("content")
    if content is None:
        assert r.content == b""
        return
    assert r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    fits_schema(doc, content["application/json"]["schema"], body)
    if "items" in body:
        assert body["items"], f"{url}: an empty list proves little about the item schema"


def _typed_queries():
    for route in routes.ROUTES:
        for p in route.params:
            p = routes.PARAMETERS[p["$ref"].rsplit("/", 1)[1]] if "$ref" in p else p
            schema = p["schema"]
            if p["in"] == "query" and (schema.get("type") in ("integer", "boolean")
                                       or schema.get("format") == "date-time"):
                yield route, p["name"]


@pytest.mark.parametrize("route,name", list(_typed_queries()),
                         ids=[f"{r.endpoint}-{n}" for r, n in _typed_queries()])
def test_typed_query_parameters_are_read_as_documented(world, route, name):
    """A documented integer, boolean or date-time query parameter is read by its route: a
    value of the wrong type is a 400 naming it (an undocumented one would be ignored)."""
    api, _, made = world
    values = SAMPLES[route.endpoint](api, made).values
    r = api.request(route.method, route.path.format(**values), params={name: "1x"})
    assert assert_error(r, 400, name)["field"] == name


# --------------------------------------------------------------------- bodies against the schema

def _body_routes():
    return [r for r in routes.ROUTES if r.body in routes.BODIES]


def _wrong_values(schema: dict[str, Any]) -> list[Any]:
    """Values that must not pass ``schema`` (one of the wrong type, then each limit broken)."""
    kind = schema.get("type")
    wrong: list[Any] = [{"nested": "object"}, [1]]
    wrong.append(7 if kind == "string" else "7")
    if kind == "integer":
        wrong += [2.5, 2.0, True]
    if not schema.get("nullable"):
        wrong.append(None)
    if "enum" in schema:
        wrong += ["Neither", schema["enum"][0].lower() + "\x00"]
    if "minimum" in schema:
        wrong.append(schema["minimum"] - 1)
    if schema.get("minLength"):
        wrong += ["", "  \t "]
    if schema.get("format") == "date-time":
        wrong += ["tomorrow", "2030-13-01T00:00:00Z"]
    if schema.get("pattern") == routes.HTTP_URL:
        wrong += ["ftp://h/", "10.0.0.5", "javascript:alert(1)"]
    return wrong


def _target(api, route) -> str:
    values = {"id": "BODY-BOX", "idTag": "BODY-TAG"}
    if route.path.startswith("/transactions/"):
        values["id"] = _open_transaction(api)
    return route.path.format(**values)


def _valid_base(route) -> dict[str, Any]:
    schema = routes.BODIES[route.body]
    return {name: {"charge_box_id": "BODY-NEW", "id_tag": "BODY-NEW-TAG",
                   "address": "http://10.0.0.7/ocpp"}[name]
            for name in schema.get("required", ())}


@pytest.fixture(scope="module")
def body_world(world):
    api, doc, made = world
    api.admin.add_chargebox("BODY-BOX")
    api.admin.add_tag("BODY-TAG")
    return api


CASES = [(r, name, value) for r in _body_routes()
         for name, schema in routes.BODIES[r.body]["properties"].items()
         for value in _wrong_values(schema)]


@pytest.mark.parametrize("route,name,value", CASES,
                         ids=[f"{r.endpoint}-{n}-{v!r}" for r, n, v in CASES])
def test_every_body_field_is_checked(body_world, route, name, value):
    api = body_world
    url = _target(api, route)
    before = (api.admin.list_chargeboxes(), api.admin.list_tags())
    r = api.request(route.method, url, json={**_valid_base(route), name: value})
    body = assert_error(r, 422, name)
    assert body["field"] == name
    assert (api.admin.list_chargeboxes(), api.admin.list_tags()) == before


@pytest.mark.parametrize("route", _body_routes(), ids=lambda r: r.endpoint)
def test_unknown_and_missing_fields_are_named(body_world, route):
    api = body_world
    url = _target(api, route)
    for unknown in ("colour", "__proto__", "x" * 10_000, "ünïcode\u202e"):
        body = assert_error(api.request(route.method, url,
                                        json={**_valid_base(route), unknown: 1}), 422,
                            "unknown field")
        assert body["field"] == unknown
    for name in routes.BODIES[route.body].get("required", ()):
        body = assert_error(api.request(route.method, url, json={}), 422, "required")
        assert body["field"] == name
    if not route.body_required:
        assert api.request(route.method, url).status_code != 400


def test_unknown_fields_are_named_before_missing_ones_and_values(body_world):
    api = body_world
    r = api.post("/chargeboxes", {"registration_status": "Maybe", "colour": "red"})
    assert assert_error(r, 422, "unknown field")["field"] == "colour"
    r = api.post("/chargeboxes", {"registration_status": "Maybe"})
    assert assert_error(r, 422, "required")["field"] == "charge_box_id"
    r = api.post("/idtags", {"id_tag": "T9", "status": "Sleepy", "note": 5})
    assert assert_error(r, 422, "Sleepy")["field"] == "status"


def test_deeply_nested_json_is_400_not_a_crash(body_world):
    api = body_world
    for raw in (b"[" * 200_000, b'{"a":' * 200_000):
        assert_error(api.request("POST", "/idtags", data=raw, headers=JSON), 400, "JSON")
    assert api.get("/idtags").status_code == 200


def test_checks_before_the_body(tmp_path):
    bad = '{"colour": "red"}'
    with running_api(tmp_path) as api:
        r = requests.post(api.base + "/chargeboxes", data=bad, timeout=10,
                          headers={"Content-Type": "text/plain"})
        assert_error(r, 415)
        r = requests.post(api.base + "/chargeboxes", data=bad, timeout=10,
                          headers={**JSON, "Host": "evil.example"})
        assert_error(r, 403, "Host")
        r = requests.post(api.base + "/chargeboxes", data=bad, timeout=10,
                          headers={**JSON, "Origin": "http://evil.example"})
        assert_error(r, 403, "Origin")
        assert_error(api.request("PUT", "/chargeboxes", data=bad, headers=JSON), 405)
    (tmp_path / "token").mkdir()
    with running_api(tmp_path / "token", api_token="tok") as api:
        assert_error(api.request("POST", "/chargeboxes", data=bad, headers=JSON, token="no"), 401)
        assert_error(api.request("POST", "/chargeboxes", data=bad, headers=JSON), 422)


def test_nullable_becomes_a_null_type():
    assert json_schema({"type": "string", "enum": ["a"], "nullable": True}) == {
        "type": ["string", "null"], "enum": ["a", None]}
    assert json_schema({"allOf": [{"$ref": "#/x"}], "nullable": True}) == {
        "anyOf": [{"allOf": [{"$ref": "#/x"}]}, {"type": "null"}]}
    assert json_schema({"properties": {"a": {"type": "integer", "nullable": False}}}) == {
        "properties": {"a": {"type": "integer"}}}


# --------------------------------------------------------------------- command bodies

def _schemas(doc):
    return doc["components"]["schemas"]


def _resolve(doc, schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = _schemas(doc)[schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _bad_values(doc, schema: dict[str, Any]) -> list[Any]:
    """Values of a command field the document's schema refuses, and so must the API."""
    s = _resolve(doc, schema)
    if s.get("type") == "array":
        return ["text" if _resolve(doc, s["items"]).get("type") == "object" else {"a": 1}]
    if s.get("type") == "object":
        return ["text", 7]
    bad: list[Any] = [{"nested": 1}, [1, 2]]
    if s.get("type") == "integer":
        bad.append("seven")
    if s.get("format") == "date-time":
        bad.append("tomorrow")
    if "enum" in s:
        bad.append("Neither")
    if "maxLength" in s:
        bad.append("x" * (s["maxLength"] + 1))
    return bad


def _command_cases(doc) -> list[tuple[str, str, str, str, Any, Any]]:
    """(version, operation, request schema, field path, body, wrong value) for every field of every command
    body of both versions, nested objects included; renamed 1.5 fields are left to
    ``test_api_operations`` (they take either name)."""
    from ocpp_soap.central.openapi import chargepoint_operations
    from ocpp_soap.messages import service_schema
    from ocpp_soap.soap.versions import CHARGEPOINT

    cases = []
    for name, versions in chargepoint_operations().items():
        for version in versions:
            op = service_schema(version, CHARGEPOINT).operation(name)
            component = f"ocpp{version.replace('.', '')}.{op.request.name}"
            base = _as_json(example(version, CHARGEPOINT, name)[0])

            def walk(schema, body, prefix, *, version=version, name=name, base=base,
                     component=component):
                props = schema.get("properties", {})
                renamed = {k for k, p in props.items()
                           if p.get("description", "").startswith("The same as")}
                renamed |= {props[k]["description"].split()[3] for k in renamed}
                for key, prop in props.items():
                    if key in renamed:
                        continue
                    for value in _bad_values(doc, prop):
                        cases.append((version, name, component, prefix + key, base, value))
                    inner = _resolve(doc, prop)
                    if inner.get("type") == "object" and isinstance(body.get(key), dict):
                        walk(inner, body[key], prefix + key + ".")
                for key in schema.get("required", ()):
                    if key not in renamed:
                        cases.append((version, name, component, prefix + key, base,
                                      _MISSING))

            walk(_schemas(doc)[component], base, "")
    return cases


_MISSING = object()


def _as_json(value):
    import json

    return json.loads(json.dumps(value, default=lambda v: v.isoformat()))


def _with(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(body)
    *outer, last = path.split(".")
    target = out
    for key in outer:
        target = target[key]
    if value is _MISSING:
        target.pop(last, None)
    else:
        target[last] = value
    return out


def test_every_command_field_is_checked_as_the_document_says(world):
    """Every value the document's schema refuses, the API refuses too, naming the field and
    queueing nothing (the box ``NOWHERE`` has no address: a valid body would be queued)."""
    api, doc, _ = world
    api.admin.add_chargebox("NOWHERE-15", ocpp_version="1.5")
    box = {"1.5": "NOWHERE-15", "1.6": "NOWHERE"}
    queued = api.get("/pending").json()["count"]
    cases = _command_cases(doc)
    assert len(cases) > 300
    problems = []
    for version, name, component, path, base, value in cases:
        body = _with(base, path, value)
        try:
            fits_schema(doc, {"$ref": f"#/components/schemas/{component}"}, body)
            problems.append(f"{version} {name} {path}={value!r}: the schema takes it")
        except AssertionError:
            pass
        r = api.post(f"/chargeboxes/{box[version]}/operations/{name}", body,
                     params={"queue": "true"})
        field = r.json().get("field", "") if r.status_code == 422 else ""
        if r.status_code != 422 or not field.startswith(path):
            problems.append(f"{version} {name} {path}={value!r}: {r.status_code} {r.text}")
    assert not problems, problems
    assert api.get("/pending").json()["count"] == queued
