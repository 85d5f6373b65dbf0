"""Amount details, charges and currency exchange of an entry (``Ntry``) or transaction (``TxDtls``).

**Charges.** ``Chrgs`` is a list of charge records: from v3 one ``Chrgs`` with ``Rcrd`` children, in v1/v2
repeated ``Chrgs`` elements that are records themselves. The charges of an entry or transaction are the
charges *deducted from its amount*: the sum of the records whose ``ChrgInclInd`` (v4+) is true or absent
(before v4 there is no indicator, and ISO's rule for an absent one is "included"), a ``CRDT`` record
(charges refunded) counting negative. A record with ``ChrgInclInd`` false was billed on its own (the
PostFinance samples book such fees as separate entries), so it is not part of the payment's deduction and
is left out. ``TtlChrgsAndTaxAmt`` is used only when a ``Chrgs`` has no record. Records in another
currency than the account's cannot be added to account-currency figures: they are left out and counted
for a warning. The charge bearer is the first ``Br`` of any record (``DEBT``, ``CRED``, ``SHAR``,
``SLEV``).

**Exchange.** The instructed amount is ``AmtDtls/InstdAmt/Amt``; the rate is the first
``AmtDtls/*/CcyXchg/XchgRate`` in the order ``InstdAmt``, ``TxAmt``, ``CntrValAmt``, ``AnncdPstngAmt``,
``PrtryAmt``, as the bank states it (the direction of a rate depends on its ``UnitCcy``, which banks fill
inconsistently; it is not converted).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from o2c.sources.bank.camt.elements import Node
from o2c.sources.bank.camt.values import amount, boolean, decimal
from o2c.sources.bank.model import CREDIT, DEBIT, BankFileError

ENTRY_AMOUNT_DETAILS = ("InstdAmt", "TxAmt", "CntrValAmt", "AnncdPstngAmt")
"""Where an entry's account-currency amount is looked for when ``Ntry/Amt`` is in another currency."""

TRANSACTION_AMOUNT_DETAILS = ("TxAmt", "CntrValAmt", "InstdAmt", "AnncdPstngAmt")
"""Where a transaction's account-currency amount is looked for when ``TxDtls/Amt`` is absent or foreign."""

_RATE_DETAILS = ("InstdAmt", "TxAmt", "CntrValAmt", "AnncdPstngAmt", "PrtryAmt")


def amount_in(details: Node | None, kinds: tuple[str, ...], currency: str, where: str) -> Decimal | None:
    """The first ``AmtDtls/<kind>/Amt`` in ``currency``, in the order of ``kinds``; ``None`` if none is."""
    if details is None:
        return None
    for kind in kinds:
        element = details.find(kind, "Amt")
        if element is not None and element.attribute("Ccy") == currency:
            return amount(element, f"{where}, AmtDtls/{kind}")[0]
    return None


@dataclass(frozen=True)
class Exchange:
    """Instructed amount and exchange rate of an ``AmtDtls``."""

    instructed_amount: Decimal | None = None
    instructed_currency: str | None = None
    rate: Decimal | None = None


NO_EXCHANGE = Exchange()


def exchange(details: Node | None, where: str) -> Exchange:
    """The instructed amount and the exchange rate of an ``AmtDtls`` (see the module docstring)."""
    if details is None:
        return NO_EXCHANGE
    instructed = details.find("InstdAmt", "Amt")
    value, currency = (
        amount(instructed, f"{where}, AmtDtls/InstdAmt") if instructed is not None else (None, None)
    )
    rate = None
    for kind in _RATE_DETAILS:
        element = details.find(kind, "CcyXchg", "XchgRate")
        if element is not None:
            rate = decimal(element.stripped, f"{where}, AmtDtls/{kind}/CcyXchg", "XchgRate")
            break
    if value is None and rate is None:
        return NO_EXCHANGE
    return Exchange(value, currency, rate)


@dataclass(frozen=True)
class Charges:
    """The charges deducted from one entry or transaction (see the module docstring)."""

    amount: Decimal | None = None
    bearer: str | None = None
    foreign: int = 0
    """records left out because they are not in the account currency"""


NO_CHARGES = Charges()


def _records(charges: Node) -> list[Node]:
    """The charge records of one ``Chrgs`` element (v3+: its ``Rcrd``; v1/v2: the element itself)."""
    records = charges.findall("Rcrd")
    if records:
        return records
    return [charges] if charges.find("Amt") is not None else []


def charges(owner: Node, currency: str, where: str) -> Charges:
    """The charges of an ``Ntry`` or ``TxDtls`` (its ``Chrgs`` children)."""
    elements = owner.findall("Chrgs")
    if not elements:
        return NO_CHARGES
    total: Decimal | None = None
    bearer: str | None = None
    foreign = 0
    for element in elements:
        records = _records(element)
        if not records:
            stated = element.find("TtlChrgsAndTaxAmt")
            if stated is not None:
                value, ccy = amount(stated, f"{where}, Chrgs", "TtlChrgsAndTaxAmt")
                if ccy and ccy != currency:
                    foreign += 1
                else:
                    total = value if total is None else total + value
            continue
        for record in records:
            bearer = bearer or record.text("Br")
            inside = f"{where}, Chrgs"
            if not boolean(record.raw("ChrgInclInd"), f"{inside}/ChrgInclInd", default=True):
                continue
            value, ccy = amount(record.find("Amt"), inside)
            if ccy and ccy != currency:
                foreign += 1
                continue
            sign = record.text("CdtDbtInd")
            if sign not in (None, CREDIT, DEBIT):
                raise BankFileError(f"{inside}: CdtDbtInd must be CRDT or DBIT, not {sign!r}")
            signed = -value if sign == CREDIT else value
            total = signed if total is None else total + signed
    if total is None and bearer is None and not foreign:
        return NO_CHARGES
    return Charges(total, bearer, foreign)
