"""ISO 20022 cash management messages as the CNY and EUR accounts' bank sends them: statements (camt.053,
version .001.02 for CNY, .001.08 for EUR), the CNY account's intraday report (camt.052.001.08) and the
notifications of its batch bookings (camt.054.001.08).

An entry (``Ntry``) carries the bank's reference (``AcctSvcrRef``) every message repeats, and one
``TxDtls`` per transaction (a batch: ``NtryDtls/Btch/NbOfTxs`` and several). A transaction names the payer
(``RltdPties/Dbtr``, its account and bank), its end-to-end id, the remittance (``RmtInf/Ustrd``; structured:
``Strd/RfrdDocInf/Nb`` invoice numbers with type CINV, ``Strd/CdtrRefInf`` an RF reference with type SCOR),
the amount as instructed and converted (``AmtDtls/InstdAmt`` with ``CcyXchg``, ``AmtDtls/TxAmt``), fees
(``Chrgs``: bearer SHAR, DEBT or CRED) and, for a returned credit (``RvslInd`` true, a debit), the return
reason (``RtrInf/Rsn/Cd``). Version .001.08 names elements as it does: ``Sts/Cd``, ``Pty/Nm``, ``BICFI``,
``Chrgs/Rcrd``, and each transaction's own ``Amt``; its messages state their totals (``TxsSummry``).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal

from lxml import etree

from o2c.business_calendar import BUSINESS_TZ
from o2c.simulate.bank.statements import DayStatement
from o2c.simulate.model import BankEntry, Payment

BEARERS = {"SHA": "SHAR", "OUR": "DEBT", "BEN": "CRED"}
ROOTS = {"camt.052": "BkToCstmrAcctRpt", "camt.053": "BkToCstmrStmt", "camt.054": "BkToCstmrDbtCdtNtfctn"}
TRANSACTION_CODES = {
    "credit": ("PMNT", "RCDT", "ESCT"),
    "return": ("PMNT", "RCDT", "RRTN"),
    "fee": ("ACMT", "MDOP", "CHRG"),
    "supplier": ("PMNT", "ICDT", "ESCT"),
    "refund": ("PMNT", "ICDT", "ESCT"),
}
"""Bank transaction codes (domain, family, sub-family) of each kind of entry."""


def _local(moment: datetime) -> str:
    return moment.astimezone(BUSINESS_TZ).isoformat(timespec="seconds")


def _payer_bic(account: str) -> str:
    """A BIC for the payer's bank, derived from its account (4 letters, the country, ``22``)."""
    digits = sum(int(c) for c in account if c.isdigit())
    return f"BK{chr(65 + digits % 26)}{chr(65 + digits // 26 % 26)}{account[:2]}22"


class _Message:
    """One message being written: its namespace and version's element names."""

    def __init__(self, message: str) -> None:
        self.message = message
        self.ns = f"urn:iso:std:iso:20022:tech:xsd:{message}"
        self.v8 = message.endswith(".08")
        self.document = etree.Element(f"{{{self.ns}}}Document", nsmap={None: self.ns})  # type: ignore[dict-item]

    def sub(self, parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
        element = etree.SubElement(parent, f"{{{self.ns}}}{tag}", attrib=attrs)
        if text is not None:
            element.text = text
        return element

    def money(self, parent: etree._Element, tag: str, value: Decimal, currency: str) -> None:
        self.sub(parent, tag, f"{value:.2f}", Ccy=currency)

    def root(self, message_id: str, created: datetime) -> etree._Element:
        root = self.sub(self.document, ROOTS[self.message[:8]])
        header = self.sub(root, "GrpHdr")
        self.sub(header, "MsgId", message_id)
        self.sub(header, "CreDtTm", _local(created))
        return root

    def account(self, parent: etree._Element, stmt: DayStatement) -> None:
        account = self.sub(parent, "Acct")
        self.sub(self.sub(account, "Id"), "IBAN", stmt.account.iban)
        self.sub(account, "Ccy", stmt.currency)
        self.bic(self.sub(self.sub(account, "Svcr"), "FinInstnId"), stmt.account.bic)

    def bic(self, institution: etree._Element, bic: str) -> None:
        self.sub(institution, "BICFI" if self.v8 else "BIC", bic)

    def balance(self, parent: etree._Element, code: str, value: Decimal, stmt: DayStatement) -> None:
        balance = self.sub(parent, "Bal")
        self.sub(self.sub(self.sub(balance, "Tp"), "CdOrPrtry"), "Cd", code)
        self.money(balance, "Amt", abs(value), stmt.currency)
        self.sub(balance, "CdtDbtInd", "CRDT" if value >= 0 else "DBIT")
        self.sub(self.sub(balance, "Dt"), "Dt", stmt.day.isoformat())

    def summary(self, parent: etree._Element, entries: list[BankEntry], currency: str) -> None:
        """``TxsSummry`` (version .001.08): the number and sum of the entries, net and per direction, so that
        a message without balances (a notification) states totals a reader can check."""
        credits = [e.amount for e in entries if e.direction == "CRDT"]
        debits = [e.amount for e in entries if e.direction == "DBIT"]
        net = sum(credits, Decimal(0)) - sum(debits, Decimal(0))
        summary = self.sub(parent, "TxsSummry")
        total = self.sub(summary, "TtlNtries")
        self.sub(total, "NbOfNtries", str(len(entries)))
        self.sub(total, "Sum", f"{sum(credits, Decimal(0)) + sum(debits, Decimal(0)):.2f}")
        net_entry = self.sub(total, "TtlNetNtry")
        self.sub(net_entry, "Amt", f"{abs(net):.2f}")
        self.sub(net_entry, "CdtDbtInd", "CRDT" if net >= 0 else "DBIT")
        for tag, amounts in (("TtlCdtNtries", credits), ("TtlDbtNtries", debits)):
            side = self.sub(summary, tag)
            self.sub(side, "NbOfNtries", str(len(amounts)))
            self.sub(side, "Sum", f"{sum(amounts, Decimal(0)):.2f}")

    def party(self, parent: etree._Element, role: str, name: str, account: str) -> None:
        party = self.sub(parent, role)
        self.sub(self.sub(party, "Pty") if self.v8 else party, "Nm", name)
        if account:
            identification = self.sub(self.sub(parent, f"{role}Acct"), "Id")
            if account[:2].isalpha() and account[2:4].isdigit() and account[4:].isalnum():
                self.sub(identification, "IBAN", account)
            else:
                self.sub(self.sub(identification, "Othr"), "Id", account)

    def entry(self, parent: etree._Element, entry: BankEntry) -> None:
        """An ``Ntry`` with its transactions."""
        currency = entry.currency
        ntry = self.sub(parent, "Ntry")
        self.money(ntry, "Amt", entry.amount, currency)
        self.sub(ntry, "CdtDbtInd", entry.direction)
        debit = entry.debit
        if debit is not None and debit.kind == "return":
            self.sub(ntry, "RvslInd", "true")
        if self.v8:
            self.sub(self.sub(ntry, "Sts"), "Cd", "BOOK")
        else:
            self.sub(ntry, "Sts", "BOOK")
        self.sub(self.sub(ntry, "BookgDt"), "Dt", entry.booking_date.isoformat())
        self.sub(self.sub(ntry, "ValDt"), "Dt", entry.booking_date.isoformat())
        self.sub(ntry, "AcctSvcrRef", entry.reference)
        kind = "credit" if debit is None else debit.kind
        self._transaction_code(ntry, kind)
        details = self.sub(ntry, "NtryDtls")
        if entry.is_batch:
            batch = self.sub(details, "Btch")
            self.sub(batch, "NbOfTxs", str(len(entry.credits)))
            self.money(batch, "TtlAmt", entry.amount, currency)
            self.sub(batch, "CdtDbtInd", "CRDT")
        for payment in entry.credits:
            self._credit(details, payment, currency, entry.is_batch)
        if debit is not None:
            tx = self.sub(details, "TxDtls")
            self.sub(self.sub(tx, "Refs"), "EndToEndId", debit.reference or "NOTPROVIDED")
            if self.v8:
                self.money(tx, "Amt", debit.amount, currency)
                self.sub(tx, "CdtDbtInd", "DBIT")
            if debit.kind != "fee":
                self.party(self.sub(tx, "RltdPties"), "Cdtr", debit.counterparty, debit.counterparty_account)
            if debit.remittance:
                self.sub(self.sub(tx, "RmtInf"), "Ustrd", debit.remittance[:140])
            if debit.return_reason:
                returned = self.sub(tx, "RtrInf")
                self.sub(self.sub(returned, "Rsn"), "Cd", debit.return_reason)
                self.sub(returned, "AddtlInf", debit.remittance[:105])

    def _transaction_code(self, parent: etree._Element, kind: str) -> None:
        domain_code, family_code, sub_family = TRANSACTION_CODES[kind]
        domain = self.sub(self.sub(parent, "BkTxCd"), "Domn")
        self.sub(domain, "Cd", domain_code)
        family = self.sub(domain, "Fmly")
        self.sub(family, "Cd", family_code)
        self.sub(family, "SubFmlyCd", sub_family)

    def _credit(self, details: etree._Element, payment: Payment, currency: str, batch: bool) -> None:
        """The ``TxDtls`` of a customer credit."""
        tx = self.sub(details, "TxDtls")
        self.sub(self.sub(tx, "Refs"), "EndToEndId", payment.end_to_end_id or "NOTPROVIDED")
        if self.v8:
            self.money(tx, "Amt", payment.amount, currency)
            self.sub(tx, "CdtDbtInd", "CRDT")
        gross = payment.amount + payment.charges
        if payment.instructed_amount is not None or (batch and not self.v8):
            amounts = self.sub(tx, "AmtDtls")
            if payment.instructed_amount is not None:
                instructed = self.sub(amounts, "InstdAmt")
                self.money(instructed, "Amt", payment.instructed_amount, payment.instructed_currency)
                if payment.exchange_rate is not None:
                    exchange = self.sub(instructed, "CcyXchg")
                    self.sub(exchange, "SrcCcy", payment.instructed_currency)
                    self.sub(exchange, "TrgtCcy", currency)
                    self.sub(exchange, "UnitCcy", payment.instructed_currency)
                    self.sub(exchange, "XchgRate", f"{payment.exchange_rate.normalize():f}")
            self.money(self.sub(amounts, "TxAmt"), "Amt", gross, currency)
        if payment.charge_bearer:
            self._charges(tx, payment, currency)
        parties = self.sub(tx, "RltdPties")
        self.party(parties, "Dbtr", payment.payer_name, payment.payer_account)
        if payment.payer_account:
            agent = self.sub(self.sub(tx, "RltdAgts"), "DbtrAgt")
            self.bic(self.sub(agent, "FinInstnId"), _payer_bic(payment.payer_account))
        if payment.remittance or payment.structured_invoices or payment.creditor_reference:
            information = self.sub(tx, "RmtInf")
            if payment.remittance:
                self.sub(information, "Ustrd", payment.remittance[:140])
            for invoice in payment.structured_invoices:
                document = self.sub(self.sub(information, "Strd"), "RfrdDocInf")
                self.sub(self.sub(self.sub(document, "Tp"), "CdOrPrtry"), "Cd", "CINV")
                self.sub(document, "Nb", invoice)
            if payment.creditor_reference:
                reference = self.sub(self.sub(information, "Strd"), "CdtrRefInf")
                kind = self.sub(reference, "Tp")
                self.sub(self.sub(kind, "CdOrPrtry"), "Cd", "SCOR")
                self.sub(kind, "Issr", "ISO")
                self.sub(reference, "Ref", payment.creditor_reference)

    def _charges(self, tx: etree._Element, payment: Payment, currency: str) -> None:
        """Fees: deducted from the credit (SHA, BEN) or borne by the payer (OUR, amount 0)."""
        bearer = BEARERS[payment.charge_bearer]
        charges = self.sub(tx, "Chrgs")
        if self.v8:
            self.money(charges, "TtlChrgsAndTaxAmt", payment.charges, currency)
            record = self.sub(charges, "Rcrd")
            self.money(record, "Amt", payment.charges, currency)
            self.sub(record, "CdtDbtInd", "DBIT")
            self.sub(record, "ChrgInclInd", "true" if payment.charges else "false")
            self.sub(record, "Br", bearer)
        else:
            self.money(charges, "Amt", payment.charges, currency)
            self.sub(charges, "CdtDbtInd", "DBIT")
            self.sub(charges, "Br", bearer)

    def bytes(self) -> bytes:
        return etree.tostring(self.document, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _closing_time(stmt: DayStatement) -> datetime:
    return datetime.combine(stmt.day + timedelta(days=1), time(1, 0), tzinfo=BUSINESS_TZ)


def render_camt053(stmt: DayStatement, closing_override: Decimal | None = None) -> bytes:
    """The day's statement in the account's camt.053 version (``closing_override``: a corrupt first
    transmission's closing balance)."""
    message = _Message(stmt.account.statement)
    created = _closing_time(stmt)
    root = message.root(f"CAMT{stmt.day:%Y%m%d}{stmt.currency}", created)
    statement = message.sub(root, "Stmt")
    message.sub(statement, "Id", f"{stmt.currency}-{stmt.day:%Y%m%d}")
    message.sub(statement, "ElctrncSeqNb", str(stmt.seq))
    message.sub(statement, "CreDtTm", _local(created))
    message.account(statement, stmt)
    message.balance(statement, "OPBD", stmt.opening, stmt)
    message.balance(statement, "CLBD", stmt.closing if closing_override is None else closing_override, stmt)
    if message.v8:
        message.summary(statement, stmt.entries, stmt.currency)
    for entry in stmt.entries:
        message.entry(statement, entry)
    return message.bytes()


def render_camt052(stmt: DayStatement, until: datetime) -> bytes:
    """The intraday report at ``until``: the day's opening balance, the balance booked so far (ITBD) and the
    entries booked before then, as the statement will repeat them."""
    message = _Message("camt.052.001.08")
    entries = [e for e in stmt.entries if e.booked_at < until]
    root = message.root(f"RPT{until.astimezone(BUSINESS_TZ):%Y%m%d%H%M}{stmt.currency}", until)
    report = message.sub(root, "Rpt")
    message.sub(report, "Id", f"{stmt.currency}-{stmt.day:%Y%m%d}-INTRADAY")
    message.sub(report, "ElctrncSeqNb", str(stmt.seq))
    message.sub(report, "CreDtTm", _local(until))
    message.account(report, stmt)
    booked = sum((e.amount if e.direction == "CRDT" else -e.amount for e in entries), Decimal(0))
    message.balance(report, "OPBD", stmt.opening, stmt)
    message.balance(report, "ITBD", stmt.opening + booked, stmt)
    message.summary(report, entries, stmt.currency)
    for entry in entries:
        message.entry(report, entry)
    return message.bytes()


def render_camt054(stmt: DayStatement, entry: BankEntry, created: datetime) -> bytes:
    """The credit notification of one batch entry, sent when it is booked."""
    message = _Message(stmt.account.notifications or "camt.054.001.08")
    root = message.root(f"NTF{entry.reference}", created)
    notification = message.sub(root, "Ntfctn")
    message.sub(notification, "Id", f"NTF-{entry.reference}")
    message.sub(notification, "CreDtTm", _local(created))
    message.account(notification, stmt)
    message.summary(notification, [entry], stmt.currency)
    message.entry(notification, entry)
    return message.bytes()
