"""A bank statement's identity (``statement_key``): what makes a statement in one file the same as one in
another, so that landing it again adds nothing (``o2c.sources.bank.ingest``)."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

from o2c.sources.bank.ingest import statement_key
from o2c.sources.bank.model import BankStatement

STATEMENT = BankStatement(
    statement_id="20",
    sequence="1",
    account_id="NL91ABNA0417164300",
    currency="EUR",
    opening_balance=Decimal("100.00"),
    opening_date=date(2024, 1, 1),
    closing_balance=Decimal("-0.50"),
    closing_date=date(2024, 1, 2),
    entries=(),
)


def test_numerically_equal_balances_are_the_same_statement() -> None:
    for opening, closing in ((Decimal("100"), Decimal("-0.5")), (Decimal("1E+2"), Decimal("-0.500"))):
        same = dataclasses.replace(STATEMENT, opening_balance=opening, closing_balance=closing)
        assert statement_key(same) == statement_key(STATEMENT)
    zero = dataclasses.replace(STATEMENT, opening_balance=Decimal("0.00"))
    assert statement_key(zero) == statement_key(dataclasses.replace(STATEMENT, opening_balance=Decimal("-0")))


def test_every_identifying_field_counts_and_a_missing_balance_is_not_zero() -> None:
    others = [
        dataclasses.replace(STATEMENT, account_id="DE89370400440532013000"),
        dataclasses.replace(STATEMENT, statement_id="21"),
        dataclasses.replace(STATEMENT, sequence="2"),
        dataclasses.replace(STATEMENT, opening_date=date(2023, 12, 31)),
        dataclasses.replace(STATEMENT, opening_balance=Decimal("100.01")),
        dataclasses.replace(STATEMENT, closing_date=None),
        dataclasses.replace(STATEMENT, closing_balance=Decimal("0.50")),
        dataclasses.replace(STATEMENT, opening_balance=Decimal(0)),
        dataclasses.replace(STATEMENT, opening_balance=Decimal(0), has_opening_balance=False),
    ]
    keys = {statement_key(s) for s in [STATEMENT, *others]}
    assert len(keys) == len(others) + 1
    assert statement_key(dataclasses.replace(STATEMENT, currency="USD")) == statement_key(STATEMENT), (
        "the currency is not part of the identity (as the duplicate rule always was)"
    )
