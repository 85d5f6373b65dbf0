"""One ``Stmt`` (camt.053), ``Rpt`` (camt.052) or ``Ntfctn`` (camt.054): head, entries, tail.

In XSD order everything but the entries comes first: ``Id`` … ``Acct``, ``Bal``, ``TxsSummry``, then the
``Ntry`` elements (then only ``AddtlStmtInf``). So the head *and* the tail (closing balance, stated totals)
are known when the first entry has been read; the tail is handed out only after the entries, as the
stream contract has it.

Head: ``statement_id`` = ``Id``; ``sequence`` = ``ElctrncSeqNb``, else ``LglSeqNb``; ``legal_sequence`` =
``LglSeqNb``; ``account_id`` = ``Acct/Id/IBAN`` or ``Othr/Id``; ``account_bic`` =
``Acct/Svcr/FinInstnId/BICFI`` (``BIC`` before v3); ``currency`` = ``Acct/Ccy``, else the currency of the
first balance, else of the first entry's ``Amt``; ``created_at`` = the report's ``CreDtTm``, else the
group header's (time zone aware when it states an offset).

Balances (booked balances only; signed, credit positive):

* opening: ``OPBD``, else ``PRCD`` (the previous closing), for all three kinds;
* closing: ``CLBD``; in a camt.052 intraday report, ``CLBD`` else the *last* ``ITBD`` (the booked balance
  at the time of the report). Available balances (``OPAV``, ``ITAV``…) are never taken for booked ones;
  ``CLAV`` (camt.052: else the last ``ITAV``) is passed on as the available balance.
* A balance without ``CdtDbtInd`` is taken as a credit balance, with a warning; if the report then does
  not reconcile, the sign is ambiguous and the file is rejected (decided after the last entry, from the
  running totals). Opening and closing balance must be in the account currency.
* camt.052 and camt.054 often have no balances: that is normal and not warned about here.

Stated totals (``TxsSummry``): ``TtlCdtNtries``/``TtlDbtNtries`` counts and sums, ``TtlNtries/NbOfNtries``
and the net amount (``TtlNtries/TtlNetNtry`` from v4, ``TtlNetNtryAmt`` with ``CdtDbtInd`` before). A figure
that cannot be read (the viafintech sample writes a debit sum as ``-509.12``) is left out, with a warning:
the summary only cross-checks the entries. Banks count *all* entries of a report in it, pending ones too
(the Finnish samples say so), but the stream yields booked entries only: when a report skipped entries and
its totals match the entries with the skipped ones but not without them, the tail gives the totals less the
skipped entries, with a warning, so that they describe the entries yielded; otherwise they are passed on
as stated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from o2c.sources.bank.camt import entries
from o2c.sources.bank.camt.elements import Element, Node, find, text
from o2c.sources.bank.camt.values import account_id, amount, bic, date_choice, decimal, parse_datetime
from o2c.sources.bank.model import (
    CREDIT,
    DEBIT,
    REPORT_INTRADAY,
    Balance,
    BankEntry,
    BankFileError,
    StatedTotals,
    StatementHead,
    StatementTail,
    movement_mismatch,
)


@dataclass(frozen=True)
class Message:
    """What the reader learned about the document before its reports."""

    format: str
    """``camt052``, ``camt053`` or ``camt054``"""
    version: str | None
    report_kind: str
    report_tag: str
    """``Rpt``, ``Stmt`` or ``Ntfctn``"""
    noun: str
    """``report``, ``statement`` or ``notification``"""
    container: str
    """``BkToCstmrAcctRpt``, ``BkToCstmrStmt`` or ``BkToCstmrDbtCdtNtfctn`` (``V01`` in version 1)"""


@dataclass
class GroupHeader:
    """``GrpHdr`` of the message."""

    message_id: str | None = None
    created: str | None = None
    """``CreDtTm`` as written"""


@dataclass(frozen=True)
class _Balance:
    """One ``Bal`` element."""

    code: str
    amount: Decimal
    """Signed, credit positive."""
    currency: str | None
    on: date | None
    sign_assumed: bool

    @property
    def stated(self) -> Balance:
        """As the model's :class:`Balance`."""
        return Balance(self.amount, self.on)


def _balance(element: Node, label: str) -> _Balance | None:
    """Parse a ``Bal``; ``None`` for proprietary balance types."""
    code = element.text("Tp", "CdOrPrtry", "Cd") or element.text("Tp", "Cd")
    if code is None:
        return None
    where = f"{label}, balance {code}"
    value, currency = amount(element.find("Amt"), where)
    sign = element.text("CdtDbtInd")
    if sign not in (CREDIT, DEBIT, None):
        raise BankFileError(f"{where}: invalid CdtDbtInd {sign!r}")
    return _Balance(
        code=code,
        amount=-value if sign == DEBIT else value,
        currency=currency,
        on=date_choice(element.find("Dt"), where),
        sign_assumed=sign is None,
    )


def _first(balances: list[_Balance], *codes: str) -> _Balance | None:
    """The first balance of the first code in ``codes`` that is present."""
    for code in codes:
        for balance in balances:
            if balance.code == code:
                return balance
    return None


def _last(balances: list[_Balance], code: str) -> _Balance | None:
    """The last balance of a code."""
    return next((b for b in reversed(balances) if b.code == code), None)


def _count(parent: Node | None, path: str, where: str, warnings: list[str]) -> int | None:
    """A ``NbOfNtries`` of ``TxsSummry``; an unreadable one is left out with a warning (the summary is only
    a cross-check of the entries, never their source)."""
    value = text(parent, "NbOfNtries")
    if value is None:
        return None
    if not value.isdigit() or not value.isascii():
        warnings.append(f"{where}: unreadable TxsSummry/{path}/NbOfNtries {value!r}; not used")
        return None
    return int(value)


def _sum(value: str | None, what: str, where: str, warnings: list[str]) -> Decimal | None:
    """A sum of ``TxsSummry``; an unreadable (or signed) one is left out with a warning."""
    if value is None:
        return None
    try:
        return decimal(value, where)
    except BankFileError:
        warnings.append(f"{where}: unreadable TxsSummry {what} {value!r}; not used")
        return None


def _net(parent: Node | None, where: str, warnings: list[str]) -> Decimal | None:
    """The net amount: ``TtlNetNtry`` (``Amt`` and ``CdtDbtInd``, v4+) or ``TtlNetNtryAmt`` with the
    ``CdtDbtInd`` of ``TtlNtries`` (v1-v3); ``None`` when not stated or its sign is not."""
    net = find(parent, "TtlNetNtry")
    if net is not None:
        stated, sign = net.raw("Amt"), net.text("CdtDbtInd")
    else:
        stated, sign = text(parent, "TtlNetNtryAmt"), text(parent, "CdtDbtInd")
    value = _sum(stated, "TtlNtries net amount", where, warnings)
    if value is None:
        return None
    if sign not in (CREDIT, DEBIT):
        warnings.append(f"{where}: TxsSummry net amount {value} without CdtDbtInd; not used")
        return None
    return -value if sign == DEBIT else value


def _totals(report: Node, where: str, warnings: list[str]) -> StatedTotals | None:
    """The ``TxsSummry`` of a report; ``None`` when it has none."""
    summary = report.find("TxsSummry")
    if summary is None:
        return None
    credits, debits, total = (
        summary.find("TtlCdtNtries"),
        summary.find("TtlDbtNtries"),
        summary.find("TtlNtries"),
    )
    totals = StatedTotals(
        credit_count=_count(credits, "TtlCdtNtries", where, warnings),
        credit_sum=_sum(text(credits, "Sum"), "TtlCdtNtries/Sum", where, warnings),
        debit_count=_count(debits, "TtlDbtNtries", where, warnings),
        debit_sum=_sum(text(debits, "Sum"), "TtlDbtNtries/Sum", where, warnings),
        entry_count=_count(total, "TtlNtries", where, warnings),
        net_amount=_net(total, where, warnings),
    )
    return None if totals == StatedTotals() else totals


def _less(stated: int | None, skipped: int) -> int | None:
    return None if stated is None else stated - skipped


def _less_amount(stated: Decimal | None, skipped: Decimal) -> Decimal | None:
    return None if stated is None else stated - skipped


def _without(totals: StatedTotals, ctx: entries.EntryContext) -> StatedTotals:
    """Stated totals less the skipped entries."""
    return StatedTotals(
        credit_count=_less(totals.credit_count, ctx.skipped_credit_count),
        credit_sum=_less_amount(totals.credit_sum, ctx.skipped_credits),
        debit_count=_less(totals.debit_count, ctx.skipped_debit_count),
        debit_sum=_less_amount(totals.debit_sum, ctx.skipped_debits),
        entry_count=_less(totals.entry_count, ctx.skipped_credit_count + ctx.skipped_debit_count),
        net_amount=_less_amount(totals.net_amount, ctx.skipped_credits - ctx.skipped_debits),
    )


class Report:
    """One report being read: :attr:`head` from the elements before the first ``Ntry``, then :meth:`read`
    for each ``Ntry``, :meth:`finish` at its end, then :meth:`tail`.

    Args:
        element: The ``Stmt``/``Rpt``/``Ntfctn`` element; its children before the first ``Ntry`` are
            complete (the reader builds a report at the end of its first entry, or at its own end).
        index: 1-based position in the file, for messages before the report's id is known.
        message: The message the report belongs to.
        header: The message's group header.
        warnings: The file's warnings; the report adds its own as they arise.
        first_entry: The first ``Ntry`` (already parsed), or ``None`` for a report without entries.
    """

    def __init__(
        self,
        element: Element,
        index: int,
        message: Message,
        header: GroupHeader,
        warnings: list[str],
        first_entry: Element | None,
    ) -> None:
        self.element = element
        self.message = message
        self.warnings = warnings
        node = Node(element)
        tag = message.report_tag
        statement_id = node.text("Id")
        if statement_id is None:
            raise BankFileError(f"{tag} #{index}: missing {tag}/Id")
        account = node.find("Acct")
        account_number = account_id(account)
        if account_number is None:
            raise BankFileError(f"{message.noun} {statement_id}: missing Acct/Id (IBAN or Othr/Id)")
        sequence = node.text("ElctrncSeqNb") or node.text("LglSeqNb")
        label = StatementHead(statement_id, sequence, account_number, "", None, message.report_kind).label
        balances = [b for b in (_balance(e, label) for e in node.findall("Bal")) if b is not None]
        currency = self._currency(node, balances, first_entry, label)
        intraday = message.report_kind == REPORT_INTRADAY
        opening = _first(balances, "OPBD", "PRCD")
        closing = _first(balances, "CLBD") or (_last(balances, "ITBD") if intraday else None)
        available = _first(balances, "CLAV") or (_last(balances, "ITAV") if intraday else None)
        for balance in (opening, closing):
            if balance is not None and balance.currency and balance.currency != currency:
                raise BankFileError(
                    f"{label}: {balance.code} balance is in {balance.currency},"
                    f" but the account currency is {currency}"
                )
        if available is not None and available.currency and available.currency != currency:
            available = None
        self.assumed = [b.code for b in (opening, closing) if b is not None and b.sign_assumed]
        if self.assumed:
            warnings.append(
                f"{label}: balance {', '.join(self.assumed)} without CdtDbtInd; assumed CRDT (positive)"
            )
        created_text = node.raw("CreDtTm") or header.created
        created_at = parse_datetime(created_text)
        if created_text and created_at is None:
            warnings.append(f"{label}: unreadable CreDtTm {created_text!r}; creation time left empty")
        self.head = StatementHead(
            statement_id=statement_id,
            sequence=sequence,
            account_id=account_number,
            currency=currency,
            opening=opening.stated if opening else None,
            report_kind=message.report_kind,
            message_id=header.message_id,
            created_at=created_at,
            account_bic=bic(find(account, "Svcr")),
            legal_sequence=node.text("LglSeqNb"),
        )
        self._closing = closing.stated if closing else None
        self._available = available.stated if available else None
        self._totals = _totals(node, label, warnings)
        fallback = (closing.on if closing else None) or (opening.on if opening else None)
        self.ctx = entries.EntryContext(label=self.head.label, currency=currency, fallback_date=fallback)
        self._booked = 0
        self.finished = False
        """whether :meth:`finish` has run"""

    @staticmethod
    def _currency(node: Node, balances: list[_Balance], first_entry: Element | None, label: str) -> str:
        """Account currency, else the currency of the first balance that has one, else of the first entry."""
        currency = node.text("Acct", "Ccy") or next((b.currency for b in balances if b.currency), None)
        if currency is None and first_entry is not None:
            entry_amount = Node(first_entry).find("Amt")
            currency = None if entry_amount is None else entry_amount.attribute("Ccy")
        if not currency:
            raise BankFileError(f"{label}: no currency in Acct/Ccy, balances or entries")
        return currency

    def read(self, element: Element) -> BankEntry | None:
        """The entry of one ``Ntry`` element, or ``None`` when it is not booked."""
        node = Node(element)
        if not entries.is_booked(node, self.ctx):
            entries.tally_skipped(node, self.ctx)
            return None
        self._booked += 1
        return entries.build_entry(node, self._booked, self.ctx)

    def finish(self) -> None:
        """Close the report after its last entry: aggregated warnings, the assumed-sign check and the stated
        totals (see the module docstring).

        Raises:
            BankFileError: A balance sign was assumed and the report does not reconcile with it.
        """
        if self.finished:
            return
        self.finished = True
        ctx = self.ctx
        self.warnings.extend(entries.entry_warnings(ctx))
        if self.assumed:
            opening = self.head.opening.amount if self.head.opening else None
            closing = self._closing.amount if self._closing else None
            mismatch = movement_mismatch(self.head.label, opening, closing, ctx.credits, ctx.debits, ctx.kept)
            if mismatch:
                raise BankFileError(
                    f"{mismatch}; the sign is ambiguous because {', '.join(self.assumed)}"
                    " had no CdtDbtInd and were assumed to be credit balances"
                )
        skipped = ctx.skipped_credit_count + ctx.skipped_debit_count
        totals = self._totals
        if totals is None or not skipped or ctx.untallied:
            return
        if totals.mismatch(ctx.credit_count, ctx.credits, ctx.debit_count, ctx.debits) is None:
            return
        with_skipped = totals.mismatch(
            ctx.credit_count + ctx.skipped_credit_count,
            ctx.credits + ctx.skipped_credits,
            ctx.debit_count + ctx.skipped_debit_count,
            ctx.debits + ctx.skipped_debits,
        )
        if with_skipped is None:
            self._totals = _without(totals, ctx)
            self.warnings.append(
                f"{self.head.label}: the stated totals (TxsSummry) include the {skipped} entries that are"
                " not booked; they are compared without them"
            )

    def tail(self) -> StatementTail:
        """Closing balance, stated totals and available balance (after :meth:`finish`)."""
        return StatementTail(closing=self._closing, totals=self._totals, available=self._available)
