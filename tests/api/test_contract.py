"""The OpenAPI document is the contract: what it promises for every operation, and the live answers that
the document cannot show on its own (401 challenges, 405 Allow, 500 request ids, offline docs)."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError

from orderguard.api.problems import PROBLEM
from orderguard.app import orders
from orderguard.domain.orders import ORDER
from tests.api.helpers import assert_problem, openapi_document
from tests.support import Api, Who

DOC = openapi_document()
OPERATIONS = [
    (method.upper(), path, operation)
    for path, methods in DOC["paths"].items()
    for method, operation in methods.items()
]
SCHEMAS = DOC["components"]["schemas"]

# Short and stable: clients generate method names from these, so renaming one breaks them.
OPERATION_IDS = {
    ("POST", "/v1/stores"): "createStore",
    ("POST", "/v1/products"): "createProduct",
    ("POST", "/v1/offers"): "createOffer",
    ("GET", "/v1/products/{product_id}/offers"): "listProductOffers",
    ("GET", "/v1/products"): "listProducts",
    ("GET", "/v1/products/{product_id}"): "getProduct",
    ("GET", "/v1/stores"): "listStores",
    ("GET", "/v1/stores/{store_id}"): "getStore",
    ("GET", "/v1/cart"): "getCart",
    ("POST", "/v1/cart/items"): "addCartItem",
    ("PATCH", "/v1/cart/items/{item_id}"): "decreaseCartItem",
    ("DELETE", "/v1/cart/items/{item_id}"): "removeCartItem",
    ("POST", "/v1/checkout"): "checkout",
    ("GET", "/v1/orders"): "listOrders",
    ("GET", "/v1/orders/{order_id}"): "getOrder",
    ("GET", "/v1/orders/{order_id}/timeline"): "getOrderTimeline",
    ("GET", "/v1/orders/{order_id}/cancellation-reasons"): "previewCancellation",
    ("POST", "/v1/orders/{order_id}/payments"): "payOrder",
    ("POST", "/v1/orders/{order_id}/cancel"): "cancelOrder",
    ("POST", "/v1/orders/{order_id}/shipments"): "createShipment",
    ("POST", "/v1/orders/{order_id}/confirm-receipt"): "confirmReceipt",
    ("POST", "/v1/orders/{order_id}/refuse-parcel"): "refuseParcel",
    ("POST", "/v1/carriers/{carrier}/scans"): "reportCarrierScans",
    ("POST", "/v1/sandbox/shipments/{shipment_id}/scans"): "injectSandboxScan",
    ("GET", "/v1/stores/{store_id}/balance"): "getStoreBalance",
    ("GET", "/v1/notifications"): "listNotifications",
    ("POST", "/v1/sandbox/accounts"): "createSandboxAccount",
    ("GET", "/v1/sandbox/clock"): "getSandboxClock",
    ("POST", "/v1/sandbox/clock/advance"): "advanceSandboxClock",
    ("POST", "/v1/sandbox/payments/{payment_id}/credit"): "creditSandboxTransfer",
    ("POST", "/v1/sandbox/payments/{payment_id}/fail"): "failSandboxTransfer",
    ("GET", "/v1/orders/{order_id}/refunds"): "listOrderRefunds",
    ("GET", "/v1/refunds/{refund_id}"): "getRefund",
    ("GET", "/v1/admin/refunds"): "listAdminRefunds",
    ("POST", "/v1/sandbox/refunds/{refund_id}/fail"): "failSandboxRefund",
    ("GET", "/healthz"): "getHealth",
    ("GET", "/readyz"): "getReadiness",
    ("GET", "/metrics"): "getMetrics",
    ("POST", "/v1/orders/{order_id}/cancellation-requests"): "requestCancellation",
    ("GET", "/v1/orders/{order_id}/cancellation-requests"): "listCancellationRequests",
    ("GET", "/v1/cancellation-requests/{request_id}"): "getCancellationRequest",
    ("POST", "/v1/cancellation-requests/{request_id}/withdraw"): "withdrawCancellation",
    ("POST", "/v1/cancellation-requests/{request_id}/approve"): "approveCancellation",
    ("POST", "/v1/cancellation-requests/{request_id}/reject"): "rejectCancellation",
    ("GET", "/v1/stores/{store_id}/fines"): "listStoreFines",
    ("GET", "/v1/orders/{order_id}/messages"): "listOrderMessages",
    ("POST", "/v1/orders/{order_id}/messages"): "postOrderMessage",
    ("POST", "/v1/orders/{order_id}/proof-requests"): "requestProof",
    ("GET", "/v1/orders/{order_id}/proof-requests"): "listProofRequests",
    ("GET", "/v1/proof-requests/{proof_request_id}"): "getProofRequest",
    ("POST", "/v1/proof-requests/{proof_request_id}/proof"): "uploadProof",
    ("GET", "/v1/proof-requests/{proof_request_id}/proof"): "getProofFile",
    ("POST", "/v1/complaints"): "fileComplaint",
    ("GET", "/v1/admin/complaints"): "listComplaints",
    ("POST", "/v1/orders/{order_id}/disputes"): "openDispute",
    ("GET", "/v1/orders/{order_id}/disputes"): "listOrderDisputes",
    ("GET", "/v1/disputes"): "listDisputes",
    ("GET", "/v1/disputes/{dispute_id}"): "getDispute",
    ("GET", "/v1/disputes/{dispute_id}/messages"): "listDisputeMessages",
    ("POST", "/v1/disputes/{dispute_id}/messages"): "postDisputeMessage",
    ("POST", "/v1/disputes/{dispute_id}/evidence"): "addDisputeEvidence",
    ("GET", "/v1/disputes/{dispute_id}/evidence/{evidence_id}"): "getDisputeEvidence",
    ("POST", "/v1/disputes/{dispute_id}/proposals"): "proposeSolution",
    ("POST", "/v1/proposals/{proposal_id}/accept"): "acceptProposal",
    ("POST", "/v1/proposals/{proposal_id}/reject"): "rejectProposal",
    ("POST", "/v1/disputes/{dispute_id}/escalate"): "escalateDispute",
    ("POST", "/v1/disputes/{dispute_id}/info-requests"): "requestDisputeInfo",
    ("POST", "/v1/disputes/{dispute_id}/verdict"): "ruleDispute",
    ("POST", "/v1/disputes/{dispute_id}/return-shipment"): "shipReturn",
    ("POST", "/v1/disputes/{dispute_id}/return-received"): "confirmReturn",
    ("GET", "/v1/admin/disputes"): "listAdminDisputes",
    ("POST", "/v1/sandbox/disputes/{dispute_id}/return-scans"): "injectReturnScan",
}
# Operations that answer with a file, not JSON: its media types, each a binary string.
FILES = {
    ("GET", "/v1/proof-requests/{proof_request_id}/proof"),
    ("GET", "/v1/disputes/{dispute_id}/evidence/{evidence_id}"),
}
# Operations that answer with text, not JSON: Prometheus's exposition format.
TEXT = {("GET", "/metrics")}

LABELS = [f"{m} {p}" for m, p, _ in OPERATIONS]


def test_operation_ids_are_short_and_stable() -> None:
    assert {(m, p): op["operationId"] for m, p, op in OPERATIONS} == OPERATION_IDS
    assert all(re.fullmatch(r"[a-z][A-Za-z]{2,24}", op_id) for op_id in OPERATION_IDS.values())


@pytest.mark.parametrize(("method", "path", "operation"), OPERATIONS, ids=LABELS)
def test_every_operation_is_tagged_and_answers_with_a_named_model(
    method: str, path: str, operation: dict[str, Any]
) -> None:
    assert operation.get("tags"), "tags stay"
    (success,) = [s for s in operation["responses"] if s.startswith("2")]
    if (method, path) in FILES:
        content = operation["responses"][success]["content"]
        assert content and all(
            c["schema"] == {"type": "string", "format": "binary"} for c in content.values()
        )
        assert "application/json" not in content
        return
    if (method, path) in TEXT:
        assert operation["responses"][success]["content"] == {"text/plain": {"schema": {"type": "string"}}}
        return
    schema = operation["responses"][success]["content"]["application/json"]["schema"]
    name = schema["$ref"].removeprefix("#/components/schemas/")
    model = SCHEMAS[name]
    assert model["type"] == "object" and model["properties"], name
    assert model.get("additionalProperties") is False, f"{name}: a typed model, not a bag of properties"


@pytest.mark.parametrize(("method", "path", "operation"), OPERATIONS, ids=LABELS)
def test_every_error_is_a_problem(method: str, path: str, operation: dict[str, Any]) -> None:
    responses = operation["responses"]
    errors = {status: r for status, r in responses.items() if status[0] in "45"}
    assert "500" in errors
    for status, response in errors.items():
        assert set(response["content"]) == {PROBLEM}, (status, response)
        assert response["content"][PROBLEM]["schema"] == {"$ref": "#/components/schemas/Problem"}
    assert errors["500"]["headers"]["X-Request-Id"]["required"] is True
    params = operation.get("parameters", [])
    if "requestBody" in operation:
        assert {"400", "413", "415", "422"} <= set(errors)
    if any(p["in"] in {"path", "query"} for p in params):
        assert "422" in errors


@pytest.mark.parametrize(("method", "path", "operation"), OPERATIONS, ids=LABELS)
def test_authenticated_operations_declare_the_bearer_scheme_and_its_401(
    method: str, path: str, operation: dict[str, Any]
) -> None:
    public = path.startswith("/v1/sandbox/") or path in {
        "/healthz",
        "/readyz",
        "/metrics",
        "/v1/carriers/{carrier}/scans",
    }
    if public:
        assert "security" not in operation
        return
    assert operation["security"] == [{"bearer": []}]
    assert operation["responses"]["401"]["headers"]["WWW-Authenticate"]["required"] is True


def test_the_bearer_scheme_and_the_problem_schema_are_declared() -> None:
    (name, scheme), *others = DOC["components"]["securitySchemes"].items()
    assert (name, scheme["type"], scheme["scheme"], others) == ("bearer", "http", "bearer", [])
    problem = SCHEMAS["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail", "code"}
    assert {"errors", "request_id"} <= set(problem["properties"])


@pytest.mark.parametrize(("method", "path", "operation"), OPERATIONS, ids=LABELS)
def test_every_post_declares_the_idempotency_key(method: str, path: str, operation: dict[str, Any]) -> None:
    headers = [p for p in operation.get("parameters", []) if p["in"] == "header"]
    keys = [p for p in headers if p["name"] == "Idempotency-Key"]
    if method == "POST":
        assert len(keys) == 1 and keys[0]["required"] is False
        assert keys[0]["schema"]["maxLength"] == 255
    else:
        assert keys == []


def test_the_order_status_filter_is_the_order_machine() -> None:
    (status,) = [p for p in DOC["paths"]["/v1/orders"]["get"]["parameters"] if p["name"] == "status"]
    assert status["schema"]["enum"] == ORDER.states
    assert SCHEMAS["OrderStatus"]["enum"] == ORDER.states
    summary = SCHEMAS["OrderSummary"]["properties"]["status"]
    assert summary == {"$ref": "#/components/schemas/OrderStatus"}


def _properties(schema: dict[str, Any]) -> dict[str, Any]:
    return schema.get("properties", {})


MONEY = re.compile(r"(price|total|amount|paid|in_escrow|refundable)$")


def test_every_amount_is_an_integer_in_minor_units_of_a_named_currency() -> None:
    """Money: integer minor units; the object or its order names the currency, and the field says which."""
    seen = 0
    for name, schema in SCHEMAS.items():
        if name.endswith("In"):
            continue
        for field, prop in _properties(schema).items():
            if not MONEY.search(field):
                continue
            seen += 1
            types = {prop.get("type")} | {alt.get("type") for alt in prop.get("anyOf", [])}
            assert "integer" in types and "number" not in types, (name, field)
            description = prop.get("description", "")
            assert "minor units" in description, (name, field)
            if "order's `currency`" not in description:
                assert "currency" in _properties(schema) or "offer's `currency`" in description, (name, field)
    assert seen >= 15


# --- live answers -------------------------------------------------------------------------------------


def test_401_challenges_for_a_bearer_token(api: Api) -> None:
    r = api.get("/v1/orders", expect=None)
    assert_problem(r, 401, "unauthenticated")
    assert r.headers["www-authenticate"] == "Bearer"
    r = api.client.get("/v1/orders", headers={"Authorization": "Bearer og_not-a-token"})
    assert_problem(r, 401, "unauthenticated")
    assert r.headers["www-authenticate"] == 'Bearer error="invalid_token"'


def test_405_names_the_allowed_methods(api: Api) -> None:
    buyer = api.buyer()
    r = api.client.put("/v1/cart", headers=buyer.auth)
    assert_problem(r, 405, "method_not_allowed")
    assert r.headers["allow"] == "GET"
    r = api.client.get("/v1/cart/items")
    assert_problem(r, 405, "method_not_allowed")
    assert r.headers["allow"] == "POST"
    r = api.client.patch("/v1/orders/ord_x")
    assert r.headers["allow"] == "GET"


def test_every_response_carries_a_request_id(api: Api) -> None:
    first = api.get("/healthz")
    second = api.get("/v1/orders", expect=401)
    ids = {first.headers["x-request-id"], second.headers["x-request-id"]}
    assert len(ids) == 2 and all(re.fullmatch(r"[0-9a-f]{16}", i) for i in ids)


def test_a_500_is_a_problem_with_a_request_id_and_no_internals(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    buyer = api.buyer()

    def broken(*args: Any, **kwargs: Any) -> None:
        raise OperationalError(
            "SELECT secret_column FROM accounts WHERE token = ?", ("og_x",), Exception("boom")
        )

    monkeypatch.setattr(orders, "list_orders", broken)
    with TestClient(api.client.app, raise_server_exceptions=False) as client, caplog.at_level(logging.ERROR):
        r = client.get("/v1/orders", headers=buyer.auth)
    body = assert_problem(r, 500, "internal_error")
    assert body["request_id"] == r.headers["x-request-id"]
    for leak in ("SELECT", "secret_column", "og_x", "Traceback", "OperationalError", "boom"):
        assert leak not in r.text
    logged = [rec for rec in caplog.records if body["request_id"] in rec.getMessage()]
    assert logged and logged[0].exc_info is not None, "the server logs the error under the request id"


def test_docs_work_without_the_internet(api: Api) -> None:
    for page in ("/docs", "/redoc"):
        html = api.get(page).text
        assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
        assert assets, page
        for asset in assets:
            assert asset.startswith("/"), f"{page} loads {asset} from elsewhere"
            assert api.get(asset).content, asset
        assert "cdn" not in html.lower() and "googleapis" not in html
        assert "/openapi.json" in html
    assert api.get("/openapi.json").json()["openapi"].startswith("3.")


def test_a_placed_order_reads_as_its_schema(api: Api) -> None:
    """The typed models are what the API sends: an order as buyer, seller and admin (also schemathesis)."""
    buyer, listing = api.buyer(), api.listing()
    order = api.place(buyer, listing)
    api.pay(buyer, order["id"])
    seller: Who = listing.seller
    admin = api.account("admin", "Ada")
    for who in (buyer, seller, admin):
        detail = api.order(order["id"], who)
        assert detail["your_role"] == who.role
        assert set(detail) == set(SCHEMAS["Order"]["properties"])
        assert detail["payments"][0]["order_id"] == order["id"]
        assert detail["payments"][0]["settled_at"] is not None
