"""Request bodies and parameters. Shapes are checked here; rules (stock, currencies, states) in domain/.

Text is refused at the edge when it holds what no name, address or id should:
C0 and C1 control characters (NUL included), lone UTF-16 surrogates (they are
not Unicode text and no database driver stores them), the line and paragraph
separators U+2028/U+2029, and the bidirectional overrides and isolates
U+202A-U+202E and U+2066-U+2069 (a seller would be shown spoofed text). Free
text that is meant to span lines (a product's description) may hold tab,
line feed and carriage return (browsers send form text with CRLF); nothing
else may. The refusal is a 422 `validation_error` whose `errors[].type` is
`unsafe_text`. The same rule is published in each field's JSON Schema
`pattern` (less the surrogates, which a JSON Schema regex cannot name).

Where a rule in domain/ owns a value's refusal code (an unknown currency,
payment method, scan kind, carrier or order status), the schema publishes the
allowed values as an `enum` and the domain keeps refusing others with its code.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from fastapi import Header, Path, Query, UploadFile
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from orderguard.domain.complaints import MAX_COMPLAINT_CHARS
from orderguard.domain.countries import COUNTRIES, is_country
from orderguard.domain.messages import MAX_MESSAGE_CHARS
from orderguard.domain.money import CURRENCY_EXPONENTS, MAX_MINOR
from orderguard.domain.shipping import CARRIER_FORMATS, SCAN_KINDS

# Character classes (regex syntax shared by Python and JSON Schema) of what text may not hold.
_ALWAYS_BAD = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_LINE_BREAKS = r"\x09\x0a\x0d"
_SURROGATES = "\ud800-\udfff"
_BAD_IN_LINE = re.compile(f"[{_ALWAYS_BAD}{_LINE_BREAKS}{_SURROGATES}]")
_BAD_IN_TEXT = re.compile(f"[{_ALWAYS_BAD}{_SURROGATES}]")
LINE_PATTERN = f"^[^{_ALWAYS_BAD}{_LINE_BREAKS}]*$"
TEXT_PATTERN = f"^[^{_ALWAYS_BAD}]*$"
# At least one character that is not a space: a name of spaces only is no name.
_IN_LINE = f"{_ALWAYS_BAD}{_LINE_BREAKS}"
NON_BLANK_LINE_PATTERN = f"^[^{_IN_LINE}]*[^ {_IN_LINE}][^{_IN_LINE}]*$"


def _checker(bad: re.Pattern[str], what: str) -> Any:
    def check(value: str) -> str:
        if bad.search(value):
            raise PydanticCustomError(
                "unsafe_text",
                f"{what} may not hold control, bidirectional-override or unpaired surrogate characters",
            )
        return value

    return check


safe_line = _checker(_BAD_IN_LINE, "a single line of text")
safe_text = _checker(_BAD_IN_TEXT, "text")


def _strip_spaces(value: str) -> str:
    return value.strip(" ")


def _non_blank(value: str) -> str:
    if not value.strip(" "):
        raise PydanticCustomError("blank_text", "may not be empty or spaces only")
    return value


def Line(max_length: int, *, min_length: int = 0) -> Any:
    """A single line of safe text; length counts the text as sent."""
    return Annotated[
        str,
        StringConstraints(min_length=min_length, max_length=max_length),
        AfterValidator(safe_line),
        Field(json_schema_extra={"pattern": LINE_PATTERN}),
    ]


# A name: a required single line with something other than spaces in it; stored without outer spaces.
_NAME = (
    AfterValidator(safe_line),
    AfterValidator(_non_blank),
    AfterValidator(_strip_spaces),
    Field(json_schema_extra={"pattern": NON_BLANK_LINE_PATTERN}),
)


def _enum(values: Any, description: str | None = None) -> WithJsonSchema:
    schema: dict[str, Any] = {"type": "string", "enum": sorted(values)}
    if description:
        schema["description"] = description
    return WithJsonSchema(schema)


Id = Annotated[
    str,
    StringConstraints(max_length=100),
    AfterValidator(safe_line),
    Field(json_schema_extra={"pattern": LINE_PATTERN}),
]
# A resource id in the URL path: the same rule, refused with 422 before any lookup.
PathId = Annotated[
    str,
    Path(max_length=100, json_schema_extra={"pattern": LINE_PATTERN}),
    AfterValidator(safe_line),
]
CarrierPath = Annotated[
    str,
    Path(description="the carrier's name", json_schema_extra={"enum": sorted(CARRIER_FORMATS)}),
    AfterValidator(safe_line),
]


def _json_number(value: Any) -> Any:
    """A JSON number, not `true` or `"5"` (which lax validation would take for 1 and 5)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PydanticCustomError("number_type", "Input should be a number")
    return value


def _json_string(value: Any) -> Any:
    """A JSON string: a number is not a time, though lax validation would read it as seconds."""
    if not isinstance(value, str):
        raise PydanticCustomError("string_type", "Input should be a string")
    return value


# Integers and numbers as JSON Schema means them: 3.0 is the integer 3; true and "3" are not numbers.
# (Put after the bounds: a validator before them would hide them from the JSON Schema.)
JSON_NUMBER = BeforeValidator(_json_number)
Timestamp = Annotated[AwareDatetime, BeforeValidator(_json_string)]

# 64-bit bounds written as exclusive powers of two: the same integers as <= MAX_MINOR, but a client or
# validator that reads JSON numbers as doubles (where 2**63 - 1 rounds to 2**63) agrees on the edge.
BEYOND_64_BITS = MAX_MINOR + 1
Minor = Annotated[
    int, Field(ge=0, lt=BEYOND_64_BITS, description="amount in minor units (cents)"), JSON_NUMBER
]
Currency = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z]{3}$"),
    _enum(CURRENCY_EXPONENTS, "ISO 4217 code of a currency the marketplace accepts"),
]
Text = Annotated[str, StringConstraints(min_length=1, max_length=200), *_NAME]
Title = Annotated[str, StringConstraints(min_length=1, max_length=300), *_NAME]
BigInt = Annotated[int, Field(gt=-BEYOND_64_BITS, lt=BEYOND_64_BITS), JSON_NUMBER]


def _country(code: str) -> str:
    if not is_country(code):
        raise ValueError(f"{code!r} is not an ISO 3166-1 alpha-2 country code")
    return code


Country = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z]{2}$"),
    AfterValidator(_country),
    _enum(COUNTRIES, "ISO 3166-1 alpha-2 country code"),
]
Carrier = Annotated[str, StringConstraints(max_length=40), _enum(CARRIER_FORMATS, "the carrier's name")]
ScanKind = Annotated[str, StringConstraints(max_length=32), _enum(SCAN_KINDS)]


async def idempotency_key(
    # Typed `str` with a default of None: optional, and null stays out of the schema.
    idempotency_key: str = Header(
        default=None,
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        description="Retry-safe POST: the first response to (caller, key) is stored and replayed for "
        "the same request; the same key with another request is refused with 422 "
        "`idempotency_key_reused`, and while the first still runs with 409 "
        "`idempotency_request_in_progress`. Requests without a valid token are not replayed.",
    ),
) -> None:
    """Declares the header for every POST; the request guard (api/guard.py) does the work."""


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


# Something on each side of the @ and a dot after it; no spaces of any kind, controls or bidi marks.
_EMAIL_PART = f"[^@ {_ALWAYS_BAD}{_LINE_BREAKS}\\u00a0\\u1680\\u2000-\\u200a\\u202f\\u205f\\u3000]+"
EMAIL_PATTERN = f"^{_EMAIL_PART}@{_EMAIL_PART}\\.{_EMAIL_PART}$"
_EMAIL = re.compile(EMAIL_PATTERN)


def _email(value: str) -> str:
    if not _EMAIL.fullmatch(value):
        raise PydanticCustomError("invalid_email", "not an email address")
    return value


Email = Annotated[
    str,
    StringConstraints(max_length=320),
    AfterValidator(safe_line),
    AfterValidator(_email),
    Field(json_schema_extra={"pattern": EMAIL_PATTERN}),
]


class AccountIn(Body):
    role: Literal["buyer", "seller", "admin"]
    name: Text
    email: Email | None = None


class StoreIn(Body):
    name: Text


class ProductIn(Body):
    title: Title
    description: Annotated[
        str,
        StringConstraints(max_length=5000),
        AfterValidator(safe_text),
        Field(json_schema_extra={"pattern": TEXT_PATTERN}, description="may span lines"),
    ] = ""


class ShippingOptionIn(Body):
    carrier: Carrier = Field(
        description="the carrier the parcel will go with: a buyer who chooses this "
        "option is shipped with this carrier and no other (R6.1)"
    )
    price: Minor
    promised_days: Annotated[int, Field(ge=1, le=365), JSON_NUMBER]


class OfferIn(Body):
    store_id: Id
    product_id: Id
    price: Annotated[
        int, Field(ge=1, lt=BEYOND_64_BITS, description="amount in minor units of `currency`"), JSON_NUMBER
    ]
    currency: Currency
    stock: Annotated[int, Field(ge=0, le=10_000_000), JSON_NUMBER]
    handling_days: Annotated[int, Field(ge=0, le=60), JSON_NUMBER]
    shipping_options: Annotated[list[ShippingOptionIn], Field(min_length=1, max_length=10)]


class CartItemIn(Body):
    offer_id: Id
    quantity: Annotated[
        int, Field(ge=1, lt=BEYOND_64_BITS, description="units to add, at least 1"), JSON_NUMBER
    ] = 1
    shipping_option_id: Id | None = None


class CartItemPatch(Body):
    quantity: Annotated[
        int, Field(ge=1, lt=BEYOND_64_BITS, description="the line's new, lower quantity"), JSON_NUMBER
    ]


class AddressIn(Body):
    name: Text
    line1: Text
    line2: Line(200) = ""  # type: ignore[valid-type]
    city: Text
    postal_code: Annotated[
        str, StringConstraints(pattern=r"^[A-Za-z0-9 \-]{2,12}$"), AfterValidator(_strip_spaces)
    ]
    country: Country


class CheckoutIn(Body):
    shipping_address: AddressIn


class PaymentIn(Body):
    method: Line(40) = Field(  # type: ignore[valid-type]
        description="a payment method of the policy in force (default policy: card, ewallet, bank_transfer)"
    )


class TransferFailIn(Body):
    reason: Line(200) = "the bank rejected the transfer"  # type: ignore[valid-type]


class RefundFailIn(Body):
    reason: Line(200) = "the payment provider could not pay the refund"  # type: ignore[valid-type]


class ClockAdvanceIn(Body):
    days: Annotated[float, Field(ge=0, le=3650), JSON_NUMBER] = 0
    hours: Annotated[float, Field(ge=0, le=87600), JSON_NUMBER] = 0
    minutes: Annotated[float, Field(ge=0, le=5_256_000), JSON_NUMBER] = 0


class ShipmentLineIn(Body):
    line_id: Id
    # At least 1 by the rule of R6.1, which refuses less with its own code (`invalid_quantity`).
    quantity: Annotated[
        int,
        Field(gt=-BEYOND_64_BITS, lt=BEYOND_64_BITS),
        JSON_NUMBER,
        WithJsonSchema({"type": "integer", "minimum": 1, "exclusiveMaximum": BEYOND_64_BITS}),
    ]


class ShipmentIn(Body):
    carrier: Carrier
    tracking_code: Line(40, min_length=1)  # type: ignore[valid-type]
    lines: Annotated[list[ShipmentLineIn], Field(min_length=1, max_length=200)] | None = None


class PlaceIn(Body):
    country: Country
    city: Line(100) = ""  # type: ignore[valid-type]
    postal_code: Line(20) = ""  # type: ignore[valid-type]


class ScanIn(Body):
    tracking_code: Line(40, min_length=1)  # type: ignore[valid-type]
    kind: ScanKind
    occurred_at: Timestamp
    place: PlaceIn


class CarrierScansIn(Body):
    scans: Annotated[list[ScanIn], Field(min_length=1, max_length=100)]


class SandboxScanIn(Body):
    kind: ScanKind
    occurred_at: Timestamp | None = None
    place: PlaceIn | None = None


def Paragraphs(max_length: int) -> Any:
    """Safe text that may span lines; length counts the text as sent."""
    return Annotated[
        str,
        StringConstraints(max_length=max_length),
        AfterValidator(safe_text),
        Field(json_schema_extra={"pattern": TEXT_PATTERN}, description="may span lines"),
    ]


class CancellationLineIn(Body):
    line_id: Id
    # At least 1 and within what can be cancelled: refused by the rule with its own code.
    quantity: Annotated[
        int,
        Field(gt=-BEYOND_64_BITS, lt=BEYOND_64_BITS),
        JSON_NUMBER,
        WithJsonSchema({"type": "integer", "minimum": 1, "exclusiveMaximum": BEYOND_64_BITS}),
    ]


class CancellationRequestIn(Body):
    reason: Annotated[
        str,
        StringConstraints(max_length=40),
        AfterValidator(safe_line),
        Field(
            description="one of the policy's reasons (see `GET /v1/orders/{id}/cancellation-reasons`)",
            json_schema_extra={"pattern": LINE_PATTERN},
        ),
    ]
    lines: Annotated[list[CancellationLineIn], Field(min_length=1, max_length=200)] | None = Field(
        None, description="lines and quantities to cancel; omit for every paid, unshipped quantity"
    )
    message: Paragraphs(2000) = ""  # type: ignore[valid-type]


class CancellationRejectionIn(Body):
    answer: Paragraphs(2000) = Field(  # type: ignore[valid-type]
        "", description="why, in the seller's words (shown to the buyer)"
    )
    carrier: Carrier | None = Field(
        None, description="with `tracking_code`: the parcel is already on its way (R4.6)"
    )
    tracking_code: Line(40, min_length=1) | None = None  # type: ignore[valid-type]


# A catalogue search: words that a title must all hold, in any case.
SearchText = Annotated[
    str,
    Query(
        max_length=100,
        description="words the title must all hold, in any case (on SQLite only A to Z fold case)",
        json_schema_extra={"pattern": LINE_PATTERN},
    ),
    AfterValidator(safe_line),
]


# A page's cursor: the `next_cursor` of the previous page, opaque to the caller.
Cursor = Annotated[
    str,
    Query(
        max_length=1000,
        description="`next_cursor` of the previous page",
        json_schema_extra={"pattern": LINE_PATTERN},
    ),
    AfterValidator(safe_line),
]


class MessageIn(Body):
    # The bounds of R4.7 are published here and refused by the rule with its own codes
    # (`message_empty`, `message_too_long`); the schema cannot say "not only white space".
    body: Annotated[
        str,
        AfterValidator(safe_text),
        WithJsonSchema(
            {
                "type": "string",
                "minLength": 1,
                "maxLength": MAX_MESSAGE_CHARS,
                "pattern": TEXT_PATTERN,
                "description": f"at most {MAX_MESSAGE_CHARS} characters, not only white space "
                "(stored without the outer white space); may span lines",
            }
        ),
    ]


class ProofRequestIn(Body):
    cancellation_request_id: Id | None = Field(
        None,
        description="the rejection (as already on its way) whose parcel to prove; omit for the order's "
        "latest one that has no proof request yet",
    )


class RefuseParcelIn(Body):
    shipment_id: Id | None = Field(
        None, description="the parcel to refuse; omit to refuse every parcel of the order not delivered yet"
    )


class ComplaintIn(Body):
    proof_request_id: Id = Field(description="the proof request whose deadline the seller missed")
    order_id: Id | None = Field(None, description="optional; when given, the proof request's order")
    # Bounds published, refused by the rule with its own codes (`complaint_empty`, `complaint_too_long`).
    message: Annotated[
        str,
        AfterValidator(safe_text),
        WithJsonSchema(
            {
                "type": "string",
                "minLength": 1,
                "maxLength": MAX_COMPLAINT_CHARS,
                "pattern": TEXT_PATTERN,
                "description": f"what is wrong: at most {MAX_COMPLAINT_CHARS} characters, not only white "
                "space; may span lines",
            }
        ),
    ]


class ProofUploadIn(Body):
    """A proof of dispatch, sent as `multipart/form-data`."""

    file: UploadFile = Field(
        description="an image (JPEG, PNG, WebP, GIF) or PDF of the carrier's receipt, at most the "
        "policy's `cancellation.proof_max_bytes` (10 MiB by default); its type is recognised from "
        "its content"
    )
