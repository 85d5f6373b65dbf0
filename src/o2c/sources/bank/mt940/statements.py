"""Build the normalized :class:`BankEntry` and :class:`BankStatement` from assembled statement blocks."""

from __future__ import annotations

from o2c.sources.bank.model import CREDIT, DEBIT, BankEntry, BankFileError, BankStatement
from o2c.sources.bank.mt940.details import clean_ref, join_details, parse_structured_details, references
from o2c.sources.bank.mt940.fields import STATEMENT_NUMBER, Block, EntryFields
from o2c.sources.bank.mt940.library import check_library_agrees, library_balance, library_entry
from o2c.sources.bank.mt940.money import Balance, parse_balance, parse_line_head

_DIRECTIONS = {"C": (CREDIT, False), "D": (DEBIT, False), "RC": (DEBIT, True), "RD": (CREDIT, True)}


def build_entry(entry: EntryFields, seq: int, currency: str) -> BankEntry:
    """Build a :class:`BankEntry` from a ``:61:`` and its ``:86:`` fields."""
    head = parse_line_head(entry.line)
    data = library_entry(entry)
    check_library_agrees(entry, head, data)
    direction, is_reversal = _DIRECTIONS[head.mark]
    remittance = join_details(entry.details)
    structured = parse_structured_details(remittance or "")
    customer_reference, name, account = references(data, structured)
    return BankEntry(
        entry_seq=seq,
        booking_date=head.booking_date,
        value_date=head.value_date,
        amount=head.amount,
        currency=currency,
        direction=direction,
        is_reversal=is_reversal,
        bank_reference=clean_ref(data.get("swift_bank_reference")),
        customer_reference=customer_reference,
        counterparty_name=name,
        counterparty_account=account,
        remittance_info=remittance,
        transaction_code=clean_ref(data.get("swift_id")),
    )


def _statement_number(block: Block) -> tuple[str | None, str | None]:
    """``(number, sequence)`` from ``:28:``/``:28C:``, blanks as None."""
    if block.number is None:
        return None, None
    match = STATEMENT_NUMBER.match(block.number.first)
    if not match:
        raise BankFileError(f"{block.number.describe()}: malformed statement number {block.number.first!r}")
    return match["number"] or None, match["sequence"] or None


def _statement_identity(block: Block) -> tuple[str, str | None, str]:
    """``(statement_id, sequence, account_id)`` of a block."""
    reference = block.reference.first.strip()
    number, sequence = _statement_number(block)
    statement_id = number or reference or f"line {block.reference.line_no}"
    account = block.account.first.strip() if block.account else ""
    if not account:
        raise BankFileError(
            f"statement {statement_id} (line {block.reference.line_no}): no :25: account identification"
        )
    return statement_id, sequence, account


def _statement_currency(label: str, opening: Balance | None, closing: Balance | None) -> str:
    """The statement currency, from its balances, which must agree."""
    if opening and closing and opening.currency != closing.currency:
        raise BankFileError(
            f"{label}: opening balance currency {opening.currency}"
            f" differs from closing balance currency {closing.currency}"
        )
    balance = opening or closing
    if balance is None:
        raise BankFileError(
            f"{label}: no :60: opening and no :62: closing balance, so the currency is unknown"
        )
    return balance.currency


def _parse_balances(block: Block) -> tuple[Balance | None, Balance | None]:
    """Strictly parse the opening and closing balances of a block."""
    opening = library_balance(block.opening, parse_balance(block.opening)) if block.opening else None
    closing = library_balance(block.closing, parse_balance(block.closing)) if block.closing else None
    return opening, closing


def build_statement(block: Block) -> BankStatement:
    """Build a :class:`BankStatement` from an assembled block."""
    statement_id, sequence, account = _statement_identity(block)
    seq_text = f"/{sequence}" if sequence else ""
    label = f"statement {statement_id}{seq_text} of account {account}"
    opening, closing = _parse_balances(block)
    currency = _statement_currency(label, opening, closing)
    entries = tuple(build_entry(entry, seq, currency) for seq, entry in enumerate(block.entries, start=1))
    return BankStatement.with_balances(
        statement_id=statement_id,
        sequence=sequence,
        account_id=account,
        currency=currency,
        opening=opening,
        closing=closing,
        entries=entries,
    )
