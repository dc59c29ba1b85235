"""Schemathesis over every operation of the live OpenAPI document, with all its checks on.

It runs as a buyer, a seller and an administrator, on SQLite and on PostgreSQL,
each in a fresh database seeded with a small marketplace (a listing, an unpaid
order, a paid one with a refund, a shipped one, a pending bank transfer, a cart item). Every
generated request is sent as drawn, and, for operations on a resource, once
more with the path ids replaced by ids of that marketplace, so the fuzzed
bodies reach the rules instead of stopping at 404.

Zero failures is the bar: no 5xx, no status, header or content type the
document does not declare, no response that breaks its schema, no invalid
input accepted and no valid input refused. The few 422 refusals that no JSON
Schema can express (a tracking code's check digit, a quantity that overflows
the line already in the cart...) are listed in RULE_REFUSALS, by operation and
code, with the reason.

The sandbox clock runs in a test of its own on an empty database, so that no
order of operations lets a fuzzed clock decide what the other operations see.

Examples are bounded (EXAMPLES per operation and pass, drawn deterministically)
so that the suite stays quick and never flaky; ORDERGUARD_FUZZ_EXAMPLES raises
the bound for a longer, randomised run.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import Case
from schemathesis.checks import CheckContext
from schemathesis.core.failures import Failure
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests import samples
from tests.api.helpers import document_app
from tests.refund_support import grant
from tests.support import Api, Listing, Who, s10

FUZZ = os.environ.get("ORDERGUARD_FUZZ_EXAMPLES")
EXAMPLES = int(FUZZ) if FUZZ else 20

# Refusals by rule that a JSON Schema cannot express, so schemathesis sees them as "valid input rejected".
# operationId -> {problem code: why the schema cannot say it}
RULE_REFUSALS: dict[str, dict[str, str]] = {
    "listOrders": {"invalid_cursor": "a cursor is opaque: only one the API gave out is valid"},
    "listProducts": {"invalid_cursor": "a cursor is opaque: only one the API gave out is valid"},
    "listStores": {"invalid_cursor": "a cursor is opaque: only one the API gave out is valid"},
    "listAdminRefunds": {"invalid_cursor": "a cursor is opaque: only one the API gave out is valid"},
    "addCartItem": {
        "invalid_quantity": "the quantity added plus the line already in the cart must fit the policy",
        "unknown_shipping_option": "the option must belong to the offer named in the same body",
    },
    "createShipment": {
        "invalid_tracking_code": "each carrier's code format, and the S10 check digit",
        "unknown_line": "line ids must be lines of the order in the path",
        "duplicate_line": "a line may appear once (uniqueItems cannot compare one field)",
        "quantity_exceeds_remaining": "a quantity must fit in what is left of its line",
        "no_lines": "with `lines` left out, something must be left to ship",
        "carrier_not_chosen": "each line ships with the carrier the buyer chose for it at checkout",
    },
    "payOrder": {"unknown_payment_method": "the methods are the policy's, which orders pin by version"},
    "requestCancellation": {
        "unknown_reason": "the reasons are the policy's, which orders pin by version",
        "unknown_line": "line ids must be lines of the order in the path",
        "duplicate_line": "a line may appear once (uniqueItems cannot compare one field)",
        "quantity_exceeds_cancellable": "a quantity must fit in what is paid and not shipped of its line",
    },
    "rejectCancellation": {
        "invalid_tracking_code": "each carrier's code format, and the S10 check digit",
        "incomplete_shipment": "carrier and tracking_code go together (a schema can say it, but "
        "schemathesis draws each optional field alone)",
        "carrier_not_chosen": "each line ships with the carrier the buyer chose for it at checkout",
    },
    "listStoreFines": {"invalid_cursor": "a cursor is opaque: only one the API gave out is valid"},
    "injectSandboxScan": {"scan_in_future": "a scan may not be more than 5 minutes ahead of the clock"},
    "injectReturnScan": {"scan_in_future": "a scan may not be more than 5 minutes ahead of the clock"},
    "listOrderMessages": {"invalid_cursor": "a cursor is opaque: only one the API gave out is valid"},
    "postOrderMessage": {"message_empty": "a message of white space only (a pattern would hide the rule)"},
    "fileComplaint": {"complaint_empty": "a complaint of white space only (a pattern would hide the rule)"},
    "listComplaints": {"invalid_cursor": "a cursor is opaque: only one the API gave out is valid"},
    "uploadProof": {
        "unsupported_file_type": "a file's type is recognised from its content, which no schema describes",
        "file_type_mismatch": "the content must be what the part's type and name say",
        "file_empty": "a file with no bytes (a binary string's minLength is not checked on files)",
    },
    "addDisputeEvidence": {
        "unsupported_file_type": "a file's type is recognised from its content, which no schema describes",
        "file_type_mismatch": "the content must be what the part's type and name say",
        "file_empty": "a file with no bytes (a binary string's minLength is not checked on files)",
    },
    "openDispute": {
        "unknown_line": "line ids must be lines of the order in the path",
        "duplicate_line": "a line may appear once (uniqueItems cannot compare one field)",
        "quantity_exceeds_shipped": "a quantity must fit in what its line holds",
        **(
            _OFFER_REFUSALS := {
                "amount_required": "a partial refund names its amount (the schema cannot tie two fields)",
                "amount_not_allowed": "only a partial refund names an amount",
                "payer_not_allowed": "only a return names who pays the return shipping",
                "amount_exceeds_disputed": "an amount must fit in what the disputed lines are worth",
                "refund_exceeds_refundable": "an amount must fit in what the order's escrow still holds",
            }
        ),
    },
    "proposeSolution": _OFFER_REFUSALS,
    "ruleDispute": {
        "invalid_share": "a partial refund's verdict needs its share (the schema cannot tie two fields)",
        "share_not_allowed": "only a partial refund's verdict takes a share",
        "payer_not_allowed": "only a refund on return names who pays the return shipping",
    },
    "shipReturn": {
        "invalid_tracking_code": "each carrier's code format, and the S10 check digit",
        "invalid_check_digit": "the S10 check digit",
    },
    "postDisputeMessage": {"message_empty": "a message of white space only (a pattern would hide the rule)"},
    "listDisputes": {"invalid_cursor": "a cursor is opaque: only one the API gave out is valid"},
    "listAdminDisputes": {"invalid_cursor": "a cursor is opaque: only one the API gave out is valid"},
    "listDisputeMessages": {"invalid_cursor": "a cursor is opaque: only one the API gave out is valid"},
}


@dataclass
class World:
    """A small marketplace, and the caller schemathesis acts as."""

    caller: Who
    ids: dict[str, list[str]] = field(default_factory=dict)
    turns: dict[str, Iterator[str]] = field(default_factory=dict)

    def real(self, name: str) -> str | None:
        """An id of the marketplace for a path parameter or id field, each in turn (deterministic)."""
        if name not in self.ids:
            return None
        turn = self.turns.setdefault(name, itertools.cycle(self.ids[name]))
        return next(turn)


def _proof_requested(api: Api, buyer: Who, seller: Who, listing: Listing, serial: str) -> tuple[str, str]:
    """(proof request, cancellation request) of a paid order whose cancellation was rejected as shipped."""
    order = api.place(buyer, listing)
    api.pay(buyer, order["id"])
    request = api.post(
        f"/v1/orders/{order['id']}/cancellation-requests", buyer, {"reason": "no_longer_needed"}, expect=201
    ).json()
    api.post(
        f"/v1/cancellation-requests/{request['id']}/reject",
        seller,
        {"carrier": "postal", "tracking_code": s10(serial)},
        expect=200,
    )
    proof = api.post(f"/v1/orders/{order['id']}/proof-requests", buyer, expect=201).json()
    return proof["id"], request["id"]


def _disputed(
    api: Api, buyer: Who, seller: Who, listing: Listing, serial: str, wanted: str
) -> tuple[dict[str, Any], str]:
    """(dispute, evidence id) of a shipped order the buyer disputes; the seller made a proposal."""
    order = api.place(buyer, listing)
    api.pay(buyer, order["id"])
    api.post(
        f"/v1/orders/{order['id']}/shipments",
        seller,
        {"carrier": "postal", "tracking_code": s10(serial)},
        expect=201,
    )
    body = {"reason": "wrong_item", "wanted": wanted, "description": "Not what I ordered."}
    dispute = api.post(f"/v1/orders/{order['id']}/disputes", buyer, body, expect=201).json()
    dispute = api.post(
        f"/v1/disputes/{dispute['id']}/proposals",
        seller,
        {"kind": "partial_refund", "amount": 1_00},
        expect=201,
    ).json()
    evidence = api.upload(f"/v1/disputes/{dispute['id']}/evidence", buyer, samples.png(), "a.png", expect=201)
    return dispute, evidence.json()["id"]


def _marketplace(api: Api, role: str) -> World:
    seller = api.account("seller", "Sam")
    buyer = api.buyer()
    admin = api.account("admin", "Ada")
    listing = api.listing(seller=seller, stock=1000)
    # proof of dispatch: one missed (a complaint can be filed), then one still waiting for its proof
    missed, missed_rejection = _proof_requested(api, buyer, seller, listing, "77777771")
    api.advance(hours=49)
    waiting, waiting_rejection = _proof_requested(api, buyer, seller, listing, "77777772")
    unpaid = api.place(buyer, listing)
    paid = api.place(buyer, listing, 2)
    api.pay(buyer, paid["id"])
    refund = grant(api.ctx, paid["id"], 5_00)  # as a cancellation approval would
    shipped = api.place(buyer, listing)
    api.pay(buyer, shipped["id"])
    shipment = api.post(
        f"/v1/orders/{shipped['id']}/shipments",
        seller,
        {"carrier": "postal", "tracking_code": s10("12345678")},
        expect=201,
    ).json()
    requested = api.place(buyer, listing, 2)
    api.pay(buyer, requested["id"])
    request = api.post(
        f"/v1/orders/{requested['id']}/cancellation-requests", buyer, {"reason": "other"}, expect=201
    ).json()
    transfer = api.place(buyer, listing)
    payment = api.pay(buyer, transfer["id"], method="bank_transfer").json()
    item = api.add(buyer, listing).json()["items"][-1]
    other_product = api.post("/v1/products", seller, {"title": "Cable"}, expect=201).json()["id"]
    disputed, evidence = _disputed(api, buyer, seller, listing, "88888881", "return_and_refund")
    escalated, _ = _disputed(api, buyer, seller, listing, "88888882", "full_refund")
    undisputed = api.place(buyer, listing)  # shipped, and still free to dispute
    api.pay(buyer, undisputed["id"])
    api.post(
        f"/v1/orders/{undisputed['id']}/shipments",
        seller,
        {"carrier": "postal", "tracking_code": s10("88888883")},
        expect=201,
    )
    api.advance(days=3)
    api.post(f"/v1/disputes/{escalated['id']}/escalate", buyer, expect=200)
    caller = {"buyer": buyer, "seller": seller, "admin": admin}[role]
    return World(
        caller,
        {
            "order_id": [
                unpaid["id"],
                paid["id"],
                shipped["id"],
                transfer["id"],
                requested["id"],
                undisputed["id"],
            ],
            "product_id": [listing.product_id, other_product],
            "store_id": [listing.store_id],
            "offer_id": [listing.offer_id],
            "shipping_option_id": [listing.offer["shipping_options"][0]["id"]],
            "line_id": [api.order(o["id"], buyer)["lines"][0]["id"] for o in (paid, shipped)],
            "item_id": [item["id"]],
            "payment_id": [payment["id"]],
            "shipment_id": [shipment["id"]],
            "request_id": [request["id"]],
            "refund_id": [refund.id],
            "proof_request_id": [missed, waiting],
            "cancellation_request_id": [missed_rejection, waiting_rejection],
            "dispute_id": [disputed["id"], escalated["id"]],
            "proposal_id": [p["id"] for d in (disputed, escalated) for p in d["proposals"]],
            "evidence_id": [evidence],
        },
    )


@pytest.fixture(params=["buyer", "seller", "admin"])
def world(request: pytest.FixtureRequest, api: Api) -> World:
    return _marketplace(api, request.param)


def _document_app() -> Any:
    """The application whose OpenAPI document is tested; requests go to each test's own application.

    Building the document touches no context: a test's application over its own database serves
    the same document.
    """
    return document_app()


schema = schemathesis.openapi.from_asgi("/openapi.json", _document_app())
schema.config.generation.update(max_examples=EXAMPLES, deterministic=FUZZ is None)


def _rule_refusal(ctx: CheckContext, response: Any, case: Case) -> bool | None:
    """positive_data_acceptance, less the rule refusals a schema cannot express (RULE_REFUSALS)."""
    try:
        return positive_data_acceptance(ctx, response, case)
    except Failure:
        operation = case.operation.definition.raw.get("operationId")
        if response.status_code == 422 and _code(response) in RULE_REFUSALS.get(operation, {}):
            return None
        if response.status_code == 422 and _beyond_64_bits(case.body):
            return None  # TOOL_LIMITS["doubles-at-64-bit-bounds"]
        raise


# Where the test tool, not the API, is wrong.
TOOL_LIMITS = {
    "null-optional-body": "an optional body (`anyOf: [object, null]`) drawn as `null` is sent, and when the "
    "API then succeeds schemathesis reports it as a schema-violating request accepted, though the schema "
    "allows `null`; such a draw is sent with its drawn ids only (it still meets every check there)",
    "doubles-at-64-bit-bounds": "schemathesis computes integer bounds in doubles, so it draws integers just "
    "beyond 2**63 as valid for `exclusiveMaximum: 2**63`; the API rightly refuses them",
}


def _beyond_64_bits(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_beyond_64_bits(v) for v in value.values())
    if isinstance(value, list):
        return any(_beyond_64_bits(v) for v in value)
    return isinstance(value, int | float) and not isinstance(value, bool) and abs(value) >= 2**63


def _code(response: Any) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("code") if isinstance(body, dict) else None


_SETTINGS = settings(
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=FUZZ is None,
    database=None,
)


_KEYS = itertools.count()


def _call(case: Case, api: Api, who: Who | None, **checks: Any) -> None:
    """Send the case to this test's application as `who`, and run the checks."""
    headers = case.headers if case.headers is not None else {}
    if who is not None and "Authorization" in headers and _positive(case, ParameterLocation.HEADER):
        # A well-formed bearer token was drawn: make it the caller's. A missing or malformed one is sent
        # as drawn, for the checks that expect a 401.
        headers["Authorization"] = f"Bearer {who.token}"
    key = headers.get("Idempotency-Key")
    if key is not None and 1 <= len(key) <= 255:
        # A valid key is made unique: no draw replays another (replays: tests/api/test_idempotency.py).
        headers["Idempotency-Key"] = f"st-{next(_KEYS)}"
    # The contract is checked, not the latency: schemathesis' default 10 s per request was passed
    # once by a checkout on PostgreSQL while the suite ran on both cores.
    case.call_and_validate(app=api.client.app, timeout=60, **checks)


def _positive(case: Case, location: ParameterLocation) -> bool:
    component = case.meta.components.get(location) if case.meta else None
    return component is None or component.mode.is_positive


@schema.exclude(operation_id="advanceSandboxClock").parametrize()
@_SETTINGS
def test_every_operation_keeps_the_contract(case: Case, api: Api, world: World) -> None:
    checks = {"excluded_checks": [positive_data_acceptance], "additional_checks": [_rule_refusal]}
    _call(case, api, world.caller, **checks)
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return  # invalid input is refused before any rule looks at the ids
    if case.body is None:
        return  # TOOL_LIMITS["null-optional-body"]
    path = {k: world.real(k) or v for k, v in (case.path_parameters or {}).items()}
    body = _with_real_ids(case.body, world)
    if path != (case.path_parameters or {}) or body != case.body:
        case.path_parameters = path
        case.body = body
        _call(case, api, world.caller, **checks)


def _with_real_ids(value: Any, world: World) -> Any:
    """The body with every id field the marketplace has one for (offer_id, line_id...) made real."""
    if isinstance(value, dict):
        return {
            k: world.real(k) if isinstance(v, str) and k in world.ids else _with_real_ids(v, world)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_with_real_ids(v, world) for v in value]
    return value


@pytest.fixture
def fresh_api(api: Api) -> Api:
    """A database with nothing in it but the caller: the clock moves nothing else."""
    return api


@schema.include(operation_id="advanceSandboxClock").parametrize()
@_SETTINGS
def test_the_sandbox_clock_keeps_the_contract(case: Case, fresh_api: Api) -> None:
    _call(case, fresh_api, None)
