"""The maintained ``mt-940`` library (import name ``mt940``), configured, and its cross-check.

The library parses the references of ``:61:`` lines and the ``:86:`` sub-fields; it is run on small,
already validated pieces of MT940, and its reading of mark and amount must agree with the strict one
(:mod:`o2c.sources.bank.mt940.money`).
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import mt940.tags
from mt940.models import Transactions
from mt940.options import Options

from o2c.sources.bank.model import BankFileError
from o2c.sources.bank.mt940.fields import STATEMENT_NUMBER, EntryFields, Field
from o2c.sources.bank.mt940.money import Balance, LineHead


class StatementNumber(mt940.tags.StatementNumber):
    """``:28C:`` accepting over-long numbers and a blank statement number (``" /1"``)."""

    pattern: ClassVar[str] = STATEMENT_NUMBER.pattern


class TolerantStatement(mt940.tags.Statement):
    """``:61:`` trying the library's standard, GLS and ASN patterns in turn.

    GLS and ASN banks put more than 16 characters (an IBAN) into the customer reference. Only the
    references depend on the pattern chosen; mark, amount and dates are checked independently.
    """

    _patterns: ClassVar[tuple[re.Pattern[str], ...]] = tuple(
        re.compile(cls.pattern, mt940.tags.Tag.RE_FLAGS)
        for cls in (mt940.tags.Statement, mt940.tags.StatementGLS, mt940.tags.StatementASNB)
    )

    def parse(self, transactions: Transactions, value: str) -> dict[str, str | None]:
        """Match ``value`` against each pattern; raise RuntimeError when none fits."""
        del transactions
        for pattern in self._patterns:
            match = pattern.match(value)
            if match:
                return match.groupdict()
        raise RuntimeError(f"no :61: pattern of the mt940 library matches {value!r}")


def _stash_statement_line(
    transactions: Transactions, tag: Any, tag_dict: dict[str, Any], result: dict[str, Any]
) -> dict[str, Any]:
    """Keep the ``:61:`` references under private keys, before ``:86:`` sub-fields merge in."""
    del transactions, tag, tag_dict
    for key in ("customer_reference", "bank_reference", "id", "extra_details", "status"):
        result[f"swift_{key}"] = result.get(key)
    return result


_LIBRARY_OPTIONS = Options(
    applicant_iban=True,
    merge_keeps_values=True,
    reversal_sign=True,
    case_insensitive_marks=True,
    unbounded_details=True,
    non_swift_free_text=True,
    gvc_leading_text=True,
    strip_bom=True,
)
_LIBRARY_TAGS: dict[int | str, mt940.tags.Tag] = {
    28: StatementNumber(),
    61: TolerantStatement(),
}
# Our :61: tag has its own slug, so the library's date "fix-up" of 30 February does not run.
_LIBRARY_PROCESSORS: dict[str, list[Any]] = {
    f"pre_{_LIBRARY_TAGS[61].slug}": [],
    f"post_{_LIBRARY_TAGS[61].slug}": [_stash_statement_line],
}


_LIBRARY_INPUT_ERRORS = (RuntimeError, ValueError, ArithmeticError)
"""What the library raises for text it cannot read: ``RuntimeError("Unable to parse ...", tag, value)``
from a tag pattern, ``ValueError`` from its models, ``decimal.InvalidOperation`` from amounts. Anything
else (``AttributeError``, ``TypeError``, ...) is a defect and propagates rather than quarantining a file."""


def _library_parse(text: str) -> Transactions:
    """Run the mt940 library on a small, already validated piece of MT940."""
    transactions = Transactions(processors=_LIBRARY_PROCESSORS, tags=_LIBRARY_TAGS, options=_LIBRARY_OPTIONS)
    transactions.parse(text)
    return transactions


def _describe_library_error(exc: Exception) -> str:
    """Readable text for an exception raised inside the mt940 library."""
    if isinstance(exc, RuntimeError) and len(exc.args) >= 3:
        return f"the mt940 library cannot parse {exc.args[2]!r}"
    return f"the mt940 library failed: {type(exc).__name__}: {exc}"


def _render_entry(entry: EntryFields) -> str:
    """MT940 text of one ``:61:`` (supplementary lines joined) and its ``:86:`` fields."""
    line = entry.line.lines
    head = line[0] if len(line) == 1 else f"{line[0]}\n{' '.join(s.strip() for s in line[1:])}"
    details = "".join(f"\n:86:{chr(10).join(fld.lines)}" for fld in entry.details)
    return f":61:{head}{details}"


def library_entry(entry: EntryFields) -> dict[str, Any]:
    """Parse one entry with the library and return its transaction data."""
    try:
        transactions = _library_parse(_render_entry(entry))
    except _LIBRARY_INPUT_ERRORS as exc:
        raise BankFileError(f"{entry.line.describe()}: {_describe_library_error(exc)}") from exc
    if len(transactions.transactions) != 1:
        raise BankFileError(f"{entry.line.describe()}: the mt940 library found no single entry")
    return transactions.transactions[0].data


def check_library_agrees(entry: EntryFields, head: LineHead, data: dict[str, Any]) -> None:
    """The library's mark and amount must equal the strict reading."""
    amount = data.get("amount")
    library_amount = abs(amount.amount) if amount is not None else None
    if data.get("swift_status") != head.mark or library_amount != head.amount:
        raise BankFileError(
            f"{entry.line.describe()}: ambiguous statement line {entry.line.first!r}:"
            f" read as {head.mark} {head.amount}, the mt940 library reads"
            f" {data.get('swift_status')} {library_amount}"
        )


def library_balance(fld: Field, strict: Balance) -> Balance:
    """Parse a balance with the library and check it against the strict reading."""
    try:
        transactions = _library_parse(f":{fld.tag}:{fld.first}")
    except _LIBRARY_INPUT_ERRORS as exc:
        raise BankFileError(f"{fld.describe()}: {_describe_library_error(exc)}") from exc
    balances = [v for k, v in transactions.data.items() if k.endswith("balance")]
    amount = getattr(getattr(balances[0], "amount", None), "amount", None) if balances else None
    if amount != strict.amount:
        raise BankFileError(
            f"{fld.describe()}: ambiguous balance {fld.first!r}: read as {strict.amount},"
            f" the mt940 library reads {amount}"
        )
    return strict
