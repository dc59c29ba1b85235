"""Money as integer minor units with an ISO 4217 currency (R9.1).

Proportional splits use the largest-remainder method, so the parts always add
up to the whole, to the cent.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_MINOR = 2**63 - 1

# ISO 4217 codes accepted by the marketplace, with their minor-unit exponent.
CURRENCY_EXPONENTS: dict[str, int] = {
    "USD": 2,
    "EUR": 2,
    "GBP": 2,
    "CNY": 2,
    "RUB": 2,
    "PLN": 2,
    "CHF": 2,
    "CAD": 2,
    "AUD": 2,
    "BRL": 2,
    "INR": 2,
    "TRY": 2,
    "SEK": 2,
    "NOK": 2,
    "DKK": 2,
    "CZK": 2,
    "KZT": 2,
    "UAH": 2,
    "MXN": 2,
    "JPY": 0,
    "KRW": 0,
    "KWD": 3,
    "BHD": 3,
}


class MoneyError(ValueError):
    """An amount or currency that cannot be money."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


def check_currency(currency: str) -> str:
    if currency not in CURRENCY_EXPONENTS:
        raise MoneyError("unknown_currency", f"{currency!r} is not a supported ISO 4217 currency")
    return currency


def check_amount(minor: int) -> int:
    if not isinstance(minor, int) or isinstance(minor, bool):
        raise MoneyError("invalid_amount", "amounts are whole numbers of minor units")
    if not -MAX_MINOR <= minor <= MAX_MINOR:
        raise MoneyError("amount_out_of_range", "amounts must fit in 64 bits of minor units")
    return minor


@dataclass(frozen=True, slots=True)
class Money:
    minor: int
    currency: str

    def __post_init__(self) -> None:
        check_currency(self.currency)
        check_amount(self.minor)

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor - other.minor, self.currency)

    def times(self, quantity: int) -> Money:
        return Money(self.minor * quantity, self.currency)

    def bps(self, basis_points: int) -> Money:
        """basis_points/10000 of this amount, rounded half up (away from zero)."""
        numerator = self.minor * basis_points
        quotient, remainder = divmod(abs(numerator), 10_000)
        if remainder * 2 >= 10_000:
            quotient += 1
        return Money(quotient if numerator >= 0 else -quotient, self.currency)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise MoneyError("currency_mismatch", f"{self.currency} and {other.currency} mixed")

    def format(self) -> str:
        return format_minor(self.minor, self.currency)


def format_minor(minor: int, currency: str) -> str:
    """`1850, "USD"` as "18.50 USD", at any size (a sum of amounts may pass 64 bits); an amount in a
    currency this code does not know is shown in minor units ("1850 minor units of XYZ")."""
    exponent = CURRENCY_EXPONENTS.get(currency)
    if exponent is None:
        return f"{minor} minor units of {currency}"
    if exponent == 0:
        return f"{minor} {currency}"
    sign = "-" if minor < 0 else ""
    units, cents = divmod(abs(minor), 10**exponent)
    return f"{sign}{units}.{cents:0{exponent}d} {currency}"


def zero(currency: str) -> Money:
    return Money(0, currency)


def split_proportionally(total: int, weights: list[int]) -> list[int]:
    """Split `total` minor units in proportion to `weights` (largest remainder).

    The result has one part per weight and always sums to `total`; ties in the
    remainder go to the earliest weight, so the split is deterministic.
    """
    weight_sum = sum(weights)
    if weight_sum <= 0 or any(w < 0 for w in weights):
        raise MoneyError("invalid_split", "weights must not be negative and must not all be zero")
    floors = [total * w // weight_sum for w in weights]
    remainders = [total * w % weight_sum for w in weights]
    short = total - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for i in order[:short]:
        floors[i] += 1
    return floors
