"""A real client generated from the live document reads well: named models with named, typed fields.

Before, openapi-python-client made 45 models such as
`GetOrderV1OrdersOrderIdGetResponseGetOrderV1OrdersOrderIdGet`, 28 of them
bags of additional properties with no fields.
"""

from __future__ import annotations

import datetime
import importlib
import inspect
import re
import subprocess
import sys
import typing
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import attrs
import pytest
from fastapi.testclient import TestClient

from tests.api.helpers import document_app
from tests.support import Api, s10

PACKAGE = "orderguard_client"

FILE_MEDIA_TYPES = ("application/pdf", "image/gif", "image/jpeg", "image/png", "image/webp")
# The event payloads of the timeline differ by kind: their model is the one bag of properties, by design.
FREE_FORM = {"TimelineEventData"}


@pytest.fixture(scope="module")
def client_package(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    work = tmp_path_factory.mktemp("client")
    served = TestClient(document_app()).get("/openapi.json")
    assert served.status_code == 200
    (work / "openapi.json").write_text(served.text)
    # A file download (a proof of dispatch) is bytes to a client, whatever its media type.
    overrides = "".join(f"  {media}: application/octet-stream\n" for media in FILE_MEDIA_TYPES)
    (work / "config.yaml").write_text(
        f"package_name_override: {PACKAGE}\npost_hooks: []\ncontent_type_overrides:\n{overrides}"
    )
    generator = Path(sys.executable).with_name("openapi-python-client")
    done = subprocess.run(
        [
            str(generator),
            "generate",
            "--path",
            "openapi.json",
            "--config",
            "config.yaml",
            "--meta",
            "none",
            "--output-path",
            PACKAGE,
            "--fail-on-warning",
        ],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    sys.path.insert(0, str(work))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(work))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def _models(package: ModuleType) -> dict[str, type]:
    models = importlib.import_module(f"{package.__name__}.models")
    return {name: cls for name, cls in vars(models).items() if inspect.isclass(cls) and attrs.has(cls)}


def _fields(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls, vars(sys.modules[cls.__module__]) | _namespace(cls))
    return {f.name: hints[f.name] for f in attrs.fields(cls)}


def _namespace(cls: type) -> dict[str, Any]:
    models = importlib.import_module(cls.__module__.rsplit(".", 1)[0])
    return dict(vars(models))


def test_models_have_plain_names_and_fields(client_package: ModuleType) -> None:
    models = _models(client_package)
    assert 30 <= len(models) <= 150, sorted(models)  # grows with the API, not with monsters
    for name, cls in models.items():
        assert re.fullmatch(r"[A-Z][A-Za-z0-9]{1,24}", name), f"monster name: {name}"
        assert not re.search(r"V1|Get|Post|Response", name), name
        fields = [f.name for f in attrs.fields(cls)]
        if name in FREE_FORM:
            continue
        assert fields, f"{name} has no fields"
        assert "additional_properties" not in fields, f"{name} is a bag of additional properties"


EXPECTED: dict[str, dict[str, Any]] = {
    "Order": {
        "id": str,
        "status": "OrderStatus",
        "currency": str,
        "total": int,
        "pay_by_at": datetime.datetime,
        "lines": "list[OrderLine]",
        "money": "OrderMoney",
        "payments": "list[Payment]",
        "shipments": "list[Shipment]",
        "actions": "list[Action]",
        "deadlines": "list[Deadline]",
    },
    "OrderMoney": {"paid": int, "in_escrow": int, "refundable": int},
    "Cart": {"items": "list[CartItem]"},
    "CartItem": {"id": str, "offer_id": str, "quantity": int, "unit_price": int, "currency": str},
    "Payment": {
        "id": str,
        "order_id": str,
        "method": str,
        "state": "PaymentState",
        "amount": int,
        "currency": str,
    },
    "Shipment": {
        "id": str,
        "carrier": str,
        "tracking_code": str,
        "status": "ShipmentStatus",
        "lines": "list[ShipmentLine]",
    },
    "NewShipment": {"id": str, "order_id": str, "status": "ShipmentStatus", "shipped_at": datetime.datetime},
    "Problem": {"code": str, "status": int, "detail": str},
}


def _same(value: Any) -> Any:
    """JSON with its times as datetimes: the client writes +00:00 where the server wrote Z."""
    if isinstance(value, dict):
        return {k: _same(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_same(v) for v in value]
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+(Z|[+-]\d\d:\d\d)", value):
        return datetime.datetime.fromisoformat(value)
    return value


def _name(hint: Any) -> str:
    return re.sub(r"\b[a-z_]+\.", "", str(hint)).replace("typing.", "")


@pytest.mark.parametrize("model", EXPECTED)
def test_order_cart_payment_and_shipment_are_typed(client_package: ModuleType, model: str) -> None:
    fields = _fields(_models(client_package)[model])
    for field, expected in EXPECTED[model].items():
        hint = fields[field]
        if isinstance(expected, str):
            assert expected in _name(hint), (model, field, hint)
        else:
            assert hint is expected, (model, field, hint)


def test_operations_are_functions_named_after_their_ids(client_package: ModuleType) -> None:
    for module, function in [
        ("orders.get_order", "Order"),
        ("orders.pay_order", "Payment"),
        ("cart.add_cart_item", "Cart"),
        ("shipping.create_shipment", "NewShipment"),
    ]:
        api = importlib.import_module(f"{PACKAGE}.api.{module}")
        returns = str(inspect.signature(api.sync).return_annotation)
        assert function in returns and "Problem" in returns, (module, returns)


def test_live_responses_parse_into_the_generated_models(client_package: ModuleType, api: Api) -> None:
    models = _models(client_package)
    buyer, listing = api.buyer(), api.listing()
    cart = api.add(buyer, listing, 2).json()
    order = api.checkout(buyer)[0]
    payment = api.pay(buyer, order["id"]).json()
    shipment = api.post(
        f"/v1/orders/{order['id']}/shipments",
        listing.seller,
        {"carrier": "postal", "tracking_code": s10("12345678")},
        expect=201,
    ).json()
    detail = api.order(order["id"], buyer)
    problem = api.get("/v1/orders/ord_nope", buyer, expect=404).json()
    for name, body in [
        ("Cart", cart),
        ("Payment", payment),
        ("NewShipment", shipment),
        ("Order", detail),
        ("Problem", problem),
    ]:
        parsed = models[name].from_dict(body)
        assert _same(parsed.to_dict()) == _same(body), name
    parsed_order = models["Order"].from_dict(detail)
    assert parsed_order.shipments[0].lines[0].quantity == 2
    assert parsed_order.payments[0].state.value == "captured"
