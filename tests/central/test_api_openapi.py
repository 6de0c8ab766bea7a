"""The OpenAPI document at ``/api/v1/openapi.json``: valid, complete, and true to what the API does.

It is checked with openapi-spec-validator; every contract path and method is in it, every CS→CP
operation of both versions has its path, the example request and reply of every operation fit the
generated schemas, and real answers of the running API fit their response schemas (every route of
the table is called in ``test_api_routes``; here the answers it does not reach).
"""

from __future__ import annotations

import json
import re

import openapi_schema_validator
import openapi_spec_validator
import pytest

from ocpp_soap.central import openapi
from ocpp_soap.messages import service_schema
from ocpp_soap.messages.examples import TAG, example
from ocpp_soap.soap.versions import CHARGEPOINT
from tests.central.test_api_resources import charger_session
from tests.central.test_api_support import running_api

#: The paths and methods operators were promised (README, issues), written here by hand on
#: purpose: the document comes from the route table, so only an independent list catches a
#: row dropped or renamed there by mistake.
CONTRACT = {
    "/chargeboxes": {"get", "post"},
    "/chargeboxes/{id}": {"get", "patch", "delete"},
    "/chargeboxes/{id}/endpoint": {"put", "delete"},
    "/chargeboxes/{id}/connectors": {"get"},
    "/chargeboxes/{id}/events": {"get"},
    "/idtags": {"get", "post"},
    "/idtags/{idTag}": {"get", "patch", "delete"},
    "/idtags/{idTag}/block": {"post"},
    "/idtags/{idTag}/unblock": {"post"},
    "/transactions": {"get"},
    "/transactions/{id}": {"get"},
    "/transactions/{id}/close": {"post"},
    "/metervalues": {"get"},
    "/connectors": {"get"},
    "/messages": {"get"},
    "/commands": {"get"},
    "/pending": {"get"},
    "/webhooks/deliveries": {"get"},
    "/chargeboxes/{id}/pending": {"get"},
    "/pending/{id}": {"delete"},
    "/openapi.json": {"get"},
}
METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    with running_api(tmp_path_factory.mktemp("cs")) as api:
        r = api.get("/openapi.json")
        assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/json")
        yield api, r.json()


def _json(value):
    return json.loads(json.dumps(value, default=lambda v: v.isoformat()))


def _validator(doc, schema):
    return openapi_schema_validator.OAS30Validator({**schema, "components": doc["components"]})


def _check(doc, schema, instance):
    errors = sorted(_validator(doc, schema).iter_errors(instance), key=str)
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]]


def test_document_is_valid_openapi(served):
    _, doc = served
    openapi_spec_validator.validate(doc)
    assert doc["openapi"].startswith("3.")
    assert doc["servers"] == [{"url": "/api/v1"}]


def test_contract_paths_and_methods(served):
    _, doc = served
    for path, methods in CONTRACT.items():
        assert path in doc["paths"], path
        assert methods <= set(doc["paths"][path]), (path, set(doc["paths"][path]))


def test_every_operation_documents_parameters_errors_and_security(served):
    _, doc = served
    ids = []
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer",
        "description": doc["components"]["securitySchemes"]["bearerAuth"]["description"]}
    assert doc["security"] == [{"bearerAuth": []}]
    assert doc["components"]["schemas"]["Error"]["required"] == ["error"]
    for path, item in doc["paths"].items():
        templated = set(re.findall(r"{(\w+)}", path))
        for method, op in item.items():
            if method not in METHODS:
                continue
            ids.append(op["operationId"])
            params = [doc["components"]["parameters"][p["$ref"].rsplit("/", 1)[1]]
                      if "$ref" in p else p for p in op.get("parameters", [])]
            assert {p["name"] for p in params if p["in"] == "path"} == templated, path
            if path == "/openapi.json":
                continue
            assert {"400", "401", "403", "405"} <= set(op["responses"]), (method, path)
            assert any(code.startswith("2") for code in op["responses"]), (method, path)
            if method in ("post", "put", "patch") and "{idTag}/" not in path:
                assert "requestBody" in op, (method, path)
    assert len(ids) == len(set(ids))


def test_every_chargepoint_operation_of_both_versions_is_listed(served):
    _, doc = served
    for version, count in (("1.5", 15), ("1.6", 19)):
        names = [op.name for op in service_schema(version, CHARGEPOINT).operations]
        assert len(names) == count
        for name in names:
            item = doc["paths"][f"/chargeboxes/{{id}}/operations/{name}"]["post"]
            assert version in item["x-ocpp-versions"]
            assert {"200", "202", "404", "409", "422", "502", "504"} <= set(item["responses"])
            assert any(p.get("name") == "queue" for p in item["parameters"])


@pytest.mark.parametrize("version,operation", [
    (v, op.name) for v in ("1.5", "1.6") for op in service_schema(v, CHARGEPOINT).operations])
def test_examples_fit_the_operation_schemas(served, version, operation):
    _, doc = served
    item = doc["paths"][f"/chargeboxes/{{id}}/operations/{operation}"]["post"]
    request, reply = example(version, CHARGEPOINT, operation)
    _check(doc, item["requestBody"]["content"]["application/json"]["schema"], _json(request))
    _check(doc, item["responses"]["200"]["content"]["application/json"]["schema"], _json(reply))


def test_schemas_reject_what_the_api_rejects(served):
    _, doc = served
    item = doc["paths"]["/chargeboxes/{id}/operations/ChangeAvailability"]["post"]
    schema = item["requestBody"]["content"]["application/json"]["schema"]
    for bad in ({"connectorId": 0, "type": "Sideways"}, {"type": "Inoperative"},
                {"connectorId": 0, "type": "Inoperative", "colour": "red"}):
        assert list(_validator(doc, schema).iter_errors(bad)), bad


def _response_schema(doc, path, method, status="200"):
    return doc["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]


def test_real_answers_fit_their_schemas(served):
    api, doc = served
    api.admin.add_chargebox("CB-1001")
    api.admin.add_tag(TAG)
    tx = charger_session(api)
    r = api.post("/chargeboxes", {"charge_box_id": "CB-2", "auth_secret": "x"})
    _check(doc, _response_schema(doc, "/chargeboxes", "post", "201"), r.json())
    # a command's log entry, and an error answer
    api.admin.set_endpoint("CB-1001", "http://127.0.0.1:9/ocpp/ChargePointService")
    r = api.post("/chargeboxes/CB-1001/operations/ClearCache", {})
    assert r.status_code == 502
    _check(doc, {"$ref": "#/components/schemas/Error"}, r.json())
    _check(doc, _response_schema(doc, "/commands", "get"), api.get("/commands").json())
    # closing a transaction (issue 14): the session's is stopped, a new one is open
    assert api.post(f"/transactions/{tx}/close", {}).status_code == 409
    from ocpp_soap.central.testing import Ctx

    start = {**example("1.6", "CentralSystemService", "StartTransaction")[0], "meterStart": 7}
    open_tx = api.app.central.start_transaction(Ctx("CB-1001"), start)["transactionId"]
    r = api.post(f"/transactions/{open_tx}/close", {"meter_stop": 5, "note": "stale"})
    assert r.status_code == 200, r.text
    _check(doc, _response_schema(doc, "/transactions/{id}/close", "post"), r.json())


def test_document_matches_the_module(served):
    _, doc = served
    assert doc == openapi.document()
