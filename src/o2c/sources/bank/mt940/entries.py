"""Build a :class:`~o2c.sources.bank.model.BankEntry` (and its one :class:`BankTransaction`) from a ``:61:``
field and the ``:86:`` fields that follow it."""

from __future__ import annotations

import dataclasses
import re

from o2c.sources.bank.model import CREDIT, DEBIT, BankEntry, BankTransaction
from o2c.sources.bank.mt940.details import (
    STRUCTURED_KEYS,
    Details,
    clean,
    money_keys,
    read_details,
    read_money_keys,
)
from o2c.sources.bank.mt940.fields import Field
from o2c.sources.bank.mt940.notes import Notes
from o2c.sources.bank.mt940.statement_line import StatementLine, parse_statement_line

DIRECTIONS = {"C": (CREDIT, False), "D": (DEBIT, False), "RC": (DEBIT, True), "RD": (CREDIT, True)}
"""Mark → (effective direction on the account, is a reversal)."""

_IBAN = re.compile(r"[A-Z]{2}\d{2}[A-Z0-9]{10,30}")
_ACCOUNT = re.compile(r"[A-Z]{2}\d{2}[A-Z0-9]{10,30}|\d{7,18}")
_PLACEHOLDER_KEYS = frozenset(STRUCTURED_KEYS.split("|")) | {"KREF+", "EREF+", "MREF+"}
"""A ``:61:`` reference that only names where the reference is (Rabobank ``EREF``, Deutsche Bank
``KREF+``): the value comes from the ``:86:`` details."""


def _references(line: StatementLine, details: Details) -> tuple[str | None, str | None, str | None]:
    """Customer reference, counterparty name and counterparty account of an entry.

    Sources, in order: the ``:86:`` details, then two bank habits on the ``:61:`` line itself: ASN/SNS put
    the counterparty IBAN into the customer reference and its name on the supplementary line; Rabobank puts
    the counterparty account on the supplementary line and a placeholder such as ``EREF`` into the customer
    reference, meaning "see /EREF/ in :86:". Without a reference of its own, the entry takes the
    end-to-end id.
    """
    reference = line.customer_reference
    extra = line.supplementary
    name, account = details.counterparty_name, details.counterparty_account
    if reference and _IBAN.fullmatch(reference):
        account, name, reference = account or reference, name or extra, None
    elif extra and _ACCOUNT.fullmatch(extra):
        account = account or extra
    if reference and reference.upper() in _PLACEHOLDER_KEYS:
        reference = clean(details.keyed.get(reference.upper().rstrip("+")))
    return reference or details.end_to_end_id, name, account


def _defaults(cls: type, filled: frozenset[str]) -> dict[str, object]:
    """The field defaults of a model dataclass, for :func:`_new`; every field without one must be in
    ``filled`` (checked when the module is imported, so a change of the model fails loudly)."""
    defaults = {}
    for fld in dataclasses.fields(cls):
        if fld.default is not dataclasses.MISSING:
            defaults[fld.name] = fld.default
        elif fld.default_factory is not dataclasses.MISSING or fld.name not in filled:
            raise TypeError(f"{cls.__name__}.{fld.name}: not filled by o2c.sources.bank.mt940.entries")
    return defaults


_ENTRY_FIELDS = frozenset(
    {
        "entry_seq",
        "booking_date",
        "value_date",
        "amount",
        "currency",
        "direction",
        "is_reversal",
        "bank_reference",
        "customer_reference",
        "counterparty_name",
        "counterparty_account",
        "remittance_info",
        "transaction_code",
    }
)
_ENTRY_DEFAULTS = _defaults(BankEntry, _ENTRY_FIELDS)
_TRANSACTION_DEFAULTS = _defaults(BankTransaction, frozenset({"tx_seq", "amount", "direction"}))
_new = object.__new__


def build_entry(fld: Field, detail_fields: list[Field], seq: int, currency: str, notes: Notes) -> BankEntry:
    """The entry of a ``:61:`` field and its ``:86:`` fields, ``seq``-th of its statement.

    The two frozen model dataclasses are filled through their instance dictionaries rather than their
    generated ``__init__``, which costs 10 µs per entry for their 50 fields (a fifth of the parser's time);
    the result is the same object (``tests/unit/test_mt940_parser.py`` compares them).
    """
    line = parse_statement_line(fld)
    if line.fix is not None:
        notes.once(line.fix)
    details = read_details(detail_fields)
    supplementary = line.supplementary
    if supplementary is not None and "/" in supplementary:
        read_money_keys(details, money_keys(supplementary))
    direction, is_reversal = DIRECTIONS[line.mark]
    reference, name, account = _references(line, details)
    code = details.code or line.transaction_type
    charges = details.charges
    additional_info = details.additional_info
    if charges is not None and details.charges_currency not in (None, currency):
        foreign = f"charges {details.charges_currency} {charges}"
        additional_info = f"{additional_info}; {foreign}" if additional_info else foreign
        charges = None

    transaction = _new(BankTransaction)
    values = transaction.__dict__
    values.update(_TRANSACTION_DEFAULTS)
    values["tx_seq"] = 1
    values["amount"] = line.amount
    values["direction"] = direction
    values["end_to_end_id"] = details.end_to_end_id
    values["instruction_id"] = details.instruction_id
    values["mandate_id"] = details.mandate_id
    values["account_servicer_reference"] = line.bank_reference
    values["remittance_unstructured"] = details.remittance_unstructured
    values["creditor_reference"] = details.creditor_reference
    values["creditor_reference_type"] = details.creditor_reference_type
    values["counterparty_name"] = name
    values["counterparty_account"] = account
    values["counterparty_bic"] = details.counterparty_bic
    values["ultimate_debtor"] = details.ultimate_debtor
    values["ultimate_creditor"] = details.ultimate_creditor
    values["proprietary_code"] = code
    values["charges"] = charges
    values["instructed_amount"] = details.instructed_amount
    values["instructed_currency"] = details.instructed_currency
    values["exchange_rate"] = details.exchange_rate
    values["return_reason"] = details.return_reason
    values["additional_info"] = additional_info

    entry = _new(BankEntry)
    values = entry.__dict__
    values.update(_ENTRY_DEFAULTS)
    values["entry_seq"] = seq
    values["booking_date"] = line.booking_date
    values["value_date"] = line.value_date
    values["amount"] = line.amount
    values["currency"] = currency
    values["direction"] = direction
    values["is_reversal"] = is_reversal
    values["bank_reference"] = line.bank_reference
    values["customer_reference"] = reference
    values["counterparty_name"] = name
    values["counterparty_account"] = account
    values["remittance_info"] = details.remittance_info
    values["transaction_code"] = line.transaction_type
    values["proprietary_code"] = code
    values["charges"] = charges
    values["additional_info"] = supplementary
    values["transactions"] = (transaction,)
    return entry
