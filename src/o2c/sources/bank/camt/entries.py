"""``Ntry`` → :class:`~o2c.sources.bank.model.BankEntry` with its transactions.

Rules (unchanged from the camt.053-only parser this package replaces):

* Only booked entries count: ``Sts`` = ``BOOK`` (v1-v6) or ``Sts/Cd`` = ``BOOK`` (v7+). An entry
  without ``Sts`` is taken as booked, with a warning; ``PDNG``/``INFO``/other entries are skipped, with a
  warning (both aggregated per report).
* Dates come from ``Dt`` or ``DtTm`` (its date part, as written). Without ``BookgDt`` the booking date
  falls back to ``ValDt``, then to the closing/opening balance date, with a warning.
* Some banks put the transaction currency into ``Ntry/Amt`` and the account-currency amount into
  ``AmtDtls``; the latter is what was booked on the account and becomes the entry amount (warning).
* Reversals (``RvslInd`` = true): ``CdtDbtInd`` of a reversal entry is already the effective direction
  on the account; ``RvslInd`` only says that the entry undoes an earlier one of the opposite direction.
  ISO 20022 documents it that way ("if CreditDebitIndicator is CRDT and ReversalIndicator is Yes, the
  original operation was a debit entry"), and the real files prove it: ING's example (a returned direct
  debit booked ``DBIT`` with ``RvslInd`` true) and PostFinance's v4 example (two ``DBIT`` refunds with
  ``RvslInd`` true) only reconcile when the ``CdtDbtInd`` is used as is. MT940 is different: its
  ``RC``/``RD`` mark names the *original* direction (see :mod:`o2c.sources.bank.mt940`).

Transactions: a batch booking (``NtryDtls/Btch``) is one entry with the ``Ntry`` amount, expanded into
its ``TxDtls``, one :class:`~o2c.sources.bank.model.BankTransaction` each (``tx_seq`` 1..n), see
:mod:`o2c.sources.bank.camt.transactions`; ``batch_count`` is ``Btch/NbOfTxs`` (which may exceed the
details given: PostFinance lists them all, the Lithuanian bank one sum for 86). An entry that books one
payment (at most one ``TxDtls`` and no batch of more) lends that payment its amount when the details give
none in the account currency, and its ``AmtDtls`` when they have none. Transactions without a ``BkTxCd``
inherit the entry's. An entry without ``TxDtls`` gets one transaction built from the entry itself (amount,
direction, ``AcctSvcrRef``, ``AddtlNtryInf`` as its text, codes, charges, ``AmtDtls``).

The entry keeps the summary fields it always had: ``bank_reference`` = ``AcctSvcrRef`` (else the one the
transactions share, else ``NtryRef``), ``customer_reference`` = the end-to-end id (else instruction id,
else payment information id) the transactions share, else the batch's ``PmtInfId``; counterparty name and
account when all transactions share one; all remittance text joined (else ``AddtlNtryInf``, else the
``AddtlTxInf``); ``transaction_code`` ``Domain/Family/SubFamily`` else proprietary (the entry's, else the
one its transactions share). Its ``charges`` are those of ``Ntry/Chrgs`` when it has any, else the sum of
its transactions' (see :mod:`o2c.sources.bank.camt.amounts` for which charges count).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from o2c.sources.bank.camt.amounts import (
    ENTRY_AMOUNT_DETAILS,
    NO_CHARGES,
    Charges,
    amount_in,
    charges,
    exchange,
)
from o2c.sources.bank.camt.elements import Element, Node, as_reference, normalized
from o2c.sources.bank.camt.transactions import (
    NO_CODES,
    Codes,
    Extras,
    Parent,
    codes,
    findall_transactions,
    new_entry,
    new_transaction,
    read_transaction,
)
from o2c.sources.bank.camt.values import amount, count, indicator, parse_date
from o2c.sources.bank.model import CREDIT, BankEntry, BankFileError, BankTransaction

BOOKED = "BOOK"
_TRUE = frozenset({"true", "1"})
KEPT_ENTRIES = 10_000
"""Entries per report kept (number and signed amount) to name one a balance difference equals."""


@dataclass
class EntryContext:
    """What an entry needs from its report, the counters for aggregated warnings, and the running totals
    of the booked entries."""

    label: str
    currency: str
    fallback_date: date | None
    missing_status: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    converted_amounts: int = 0
    dates_from_value: int = 0
    dates_from_balance: int = 0
    foreign_charges: int = 0
    credit_count: int = 0
    debit_count: int = 0
    credits: Decimal = Decimal(0)
    debits: Decimal = Decimal(0)
    kept: list[tuple[int, Decimal]] = field(default_factory=list)
    skipped_credit_count: int = 0
    skipped_debit_count: int = 0
    skipped_credits: Decimal = Decimal(0)
    skipped_debits: Decimal = Decimal(0)
    untallied: int = 0
    """skipped entries whose amount could not be tallied"""


def status(entry: Node) -> str | None:
    """Entry status: ``Sts`` text (v1-v6) or ``Sts/Cd``/``Sts/Prtry`` (v7+); ``None`` when absent."""
    element = entry.element_of("Sts")
    if element is None:
        return None
    text = normalized(element.text)
    if text:
        return text
    choice = Node(element)
    return choice.value_of("Cd") or choice.value_of("Prtry") or ""


def is_booked(entry: Node, ctx: EntryContext) -> bool:
    """Whether an entry counts (is booked); counts the missing and skipped statuses."""
    found = status(entry)
    if found is None:
        ctx.missing_status += 1
        return True
    if found == BOOKED or found.upper() == BOOKED:
        return True
    ctx.skipped[found or "(empty)"] += 1
    return False


def _unique(values: Iterable[str | None]) -> str | None:
    """The single distinct non-empty value, else ``None``."""
    distinct = {v for v in values if v}
    return distinct.pop() if len(distinct) == 1 else None


def _joined(values: Iterable[str | None]) -> str | None:
    """Distinct non-empty values in order, joined with `` | ``."""
    return " | ".join(dict.fromkeys(v for v in values if v)) or None


def _date_of(element: Element | None, where: str, name: str) -> date | None:
    """The date of a ``DateAndDateTimeChoice`` (its one child, ``Dt`` or ``DtTm``)."""
    if element is None:
        return None
    for child in element:
        if isinstance(child.tag, str):
            text = child.text
            return None if text is None or not text.strip() else parse_date(text, where, name)
    return None


def _dates(entry: Node, ctx: EntryContext, where: str) -> tuple[date, date | None]:
    """Booking and value date; a missing ``BookgDt`` falls back to ``ValDt`` or a balance date."""
    value_date = _date_of(entry.element_of("ValDt"), where, "ValDt")
    booking = _date_of(entry.element_of("BookgDt"), where, "BookgDt")
    if booking is not None:
        return booking, value_date
    if value_date is not None:
        ctx.dates_from_value += 1
        return value_date, value_date
    if ctx.fallback_date is None:
        raise BankFileError(f"{where}: no BookgDt, no ValDt and no balance date")
    ctx.dates_from_balance += 1
    return ctx.fallback_date, None


def _entry_amount(entry: Node, currency: str, where: str) -> tuple[Decimal, str, bool]:
    """The entry amount in the account currency (see the module docstring), its currency, and whether it
    was taken from ``AmtDtls``."""
    value, stated = amount(entry.element_of("Amt"), where)
    if stated is None or stated == currency:
        return value, currency, False
    converted = amount_in(entry.get("AmtDtls"), ENTRY_AMOUNT_DETAILS, currency, where)
    if converted is None:
        return value, stated, False
    return converted, currency, True


def tally_skipped(entry: Node, ctx: EntryContext) -> None:
    """Add an entry that is not booked to the skipped totals (a report's ``TxsSummry`` may count it); an
    entry whose amount or direction cannot be read is only counted as untallied (it is skipped anyway)."""
    try:
        value, currency, _ = _entry_amount(entry, ctx.currency, ctx.label)
        direction = indicator(entry.text("CdtDbtInd"), ctx.label)
    except BankFileError:
        ctx.untallied += 1
        return
    if currency != ctx.currency:
        ctx.untallied += 1
    elif direction == CREDIT:
        ctx.skipped_credit_count += 1
        ctx.skipped_credits += value
    else:
        ctx.skipped_debit_count += 1
        ctx.skipped_debits += value


def _batch(entry: Node, details: list[Node], where: str) -> tuple[int | None, str | None]:
    """``Btch/NbOfTxs`` (summed over the ``NtryDtls``) and the first ``Btch/PmtInfId`` of an entry."""
    batches = [b for element in details for b in element.findall("Btch")]
    batches += entry.findall("Btch")  # v1
    if not batches:
        return None, None
    counts = [count(b.get("NbOfTxs"), f"{where}, Btch/NbOfTxs") for b in batches]
    stated = [c for c in counts if c is not None]
    payment_info = next((b.ref("PmtInfId") for b in batches if b.ref("PmtInfId")), None)
    return (sum(stated) if stated else None), payment_info


def _entry_transaction(
    entry: Node,
    where: str,
    value: Decimal,
    direction: str,
    reference: str | None,
    additional: str | None,
    entry_codes: Codes,
    fees: Charges,
) -> BankTransaction:
    """The one transaction of an entry without ``TxDtls``: the entry itself."""
    fx = exchange(entry.get("AmtDtls"), where)
    return new_transaction(
        tx_seq=1,
        amount=value,
        direction=direction,
        account_servicer_reference=reference,
        remittance_unstructured=additional,
        domain_code=entry_codes.domain,
        family_code=entry_codes.family,
        sub_family_code=entry_codes.sub_family,
        proprietary_code=entry_codes.proprietary,
        charges=fees.amount,
        charge_bearer=fees.bearer,
        instructed_amount=fx.instructed_amount,
        instructed_currency=fx.instructed_currency,
        exchange_rate=fx.rate,
    )


def build_entry(entry: Node, seq: int, ctx: EntryContext) -> BankEntry:
    """Build one :class:`BankEntry` (with its transactions) from a booked ``Ntry``."""
    where = f"{ctx.label}, Ntry {seq}"
    value, currency, converted = _entry_amount(entry, ctx.currency, where)
    ctx.converted_amounts += converted
    direction = indicator(entry.value_of("CdtDbtInd"), where)
    is_reversal = (entry.value_of("RvslInd") or "").lower() in _TRUE
    booking_date, value_date = _dates(entry, ctx, where)
    entry_details = entry.findall("NtryDtls")
    batch_count, payment_info = _batch(entry, entry_details, where)
    entry_codes = codes(entry.element_of("BkTxCd"))
    has_charges = entry.has("Chrgs")
    fees = charges(entry, ctx.currency, where) if has_charges else NO_CHARGES
    ctx.foreign_charges += fees.foreign
    details = findall_transactions(entry, entry_details)
    single = len(details) <= 1 and (batch_count or 0) <= 1
    additional = entry.value_of("AddtlNtryInf")
    own_reference = as_reference(entry.value_of("AcctSvcrRef"))
    entry_reference = as_reference(entry.value_of("NtryRef"))
    extras: list[Extras] = []
    transactions: list[BankTransaction] = []
    if details:
        parent = Parent(
            where=where,
            currency=ctx.currency,
            direction=direction,
            is_reversal=is_reversal,
            single_amount=value if single else None,
            codes=entry_codes,
            details=entry.get("AmtDtls") if single else None,
        )
        for tx_seq, tx in enumerate(details, start=1):
            transaction, extra = read_transaction(tx, tx_seq, parent)
            transactions.append(transaction)
            extras.append(extra)
            ctx.foreign_charges += extra.foreign_charges
        if entry_codes is NO_CODES:
            shared = {
                (t.domain_code, t.family_code, t.sub_family_code, t.proprietary_code) for t in transactions
            }
            entry_codes = Codes(*shared.pop()) if len(shared) == 1 else NO_CODES
    else:
        transactions.append(
            _entry_transaction(entry, where, value, direction, own_reference, additional, entry_codes, fees)
        )
    if has_charges or not extras:
        entry_charges = fees.amount
    else:
        found_charges = [t.charges for t in transactions if t.charges is not None]
        entry_charges = sum(found_charges, Decimal(0)) if found_charges else None
    if not extras:  # the entry is its own transaction
        servicer = customer = name = account = None
        remittance = additional
    elif len(extras) == 1:  # the common case, without the sets and joins below
        only, extra = transactions[0], extras[0]
        servicer, customer = only.account_servicer_reference, extra.customer_reference
        name, account = only.counterparty_name, only.counterparty_account
        remittance = extra.remittance or additional or extra.additional
    else:
        servicer = _unique(t.account_servicer_reference for t in transactions)
        customer = _unique(e.customer_reference for e in extras)
        name = _unique(t.counterparty_name for t in transactions)
        account = _unique(t.counterparty_account for t in transactions)
        remittance = (
            _joined(e.remittance for e in extras) or additional or _joined(e.additional for e in extras)
        )
    result = new_entry(
        entry_seq=seq,
        booking_date=booking_date,
        value_date=value_date,
        amount=value,
        currency=currency,
        direction=direction,
        is_reversal=is_reversal,
        bank_reference=own_reference or servicer or entry_reference,
        customer_reference=customer or payment_info,
        counterparty_name=name,
        counterparty_account=account,
        remittance_info=remittance,
        transaction_code=entry_codes.label,
        entry_reference=entry_reference,
        status=BOOKED,
        domain_code=entry_codes.domain,
        family_code=entry_codes.family,
        sub_family_code=entry_codes.sub_family,
        proprietary_code=entry_codes.proprietary,
        charges=entry_charges,
        batch_count=batch_count,
        additional_info=additional,
        transactions=tuple(transactions),
    )
    if direction == CREDIT:
        ctx.credit_count += 1
        ctx.credits += value
    else:
        ctx.debit_count += 1
        ctx.debits += value
    if len(ctx.kept) < KEPT_ENTRIES:
        ctx.kept.append((seq, value if direction == CREDIT else -value))
    return result


def entry_warnings(ctx: EntryContext) -> list[str]:
    """Aggregated warnings about the entries of one report."""
    warnings = []
    if ctx.missing_status:
        warnings.append(f"{ctx.label}: {ctx.missing_status} entries have no Sts; taken as booked")
    for found, number in sorted(ctx.skipped.items()):
        warnings.append(f"{ctx.label}: skipped {number} entries with status {found} (not booked)")
    if ctx.converted_amounts:
        warnings.append(
            f"{ctx.label}: {ctx.converted_amounts} entries have Ntry/Amt in a foreign currency;"
            f" used the {ctx.currency} amount from AmtDtls"
        )
    if ctx.dates_from_value:
        warnings.append(f"{ctx.label}: {ctx.dates_from_value} entries have no BookgDt; used ValDt")
    if ctx.dates_from_balance:
        warnings.append(
            f"{ctx.label}: {ctx.dates_from_balance} entries have no BookgDt nor ValDt;"
            f" used the balance date {ctx.fallback_date}"
        )
    if ctx.foreign_charges:
        warnings.append(
            f"{ctx.label}: {ctx.foreign_charges} charge records are not in {ctx.currency};"
            " left out of the charges"
        )
    return warnings
