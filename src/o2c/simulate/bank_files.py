"""Write the simulated banks' daily statements: SWIFT MT940 for the USD and SGD accounts, camt.053.001.02 for
CNY and EUR (customers pay into the account of their billing currency).

Balances carry from day to day, so every file reconciles (opening + credits - debits = closing) except the
one deliberately corrupted file the ground truth lists.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import cached_property, partial
from pathlib import Path

from lxml import etree

from o2c.config import BUSINESS_TZ
from o2c.simulate.world import World


@dataclass(frozen=True)
class Account:
    iban: str
    bic: str
    format: str  # mt940 | camt053
    opening: Decimal


ACCOUNTS = {
    "USD": Account("CN12TRDB0000000001USD", "TRDBCNSHXXX", "mt940", Decimal("2500000.00")),
    "CNY": Account("CN34TRDB0000000002CNY", "TRDBCNSHXXX", "camt053", Decimal("18000000.00")),
    "EUR": Account("CN56TRDB0000000003EUR", "TRDBCNSHXXX", "camt053", Decimal("900000.00")),
    "SGD": Account("SG78TRDB0000000004SGD", "TRDBSGSGXXX", "mt940", Decimal("1500000.00")),
}
"""One account per billing currency (``catalog.COUNTRIES``): a payment always lands in a statement."""
CAMT_NS = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"


@dataclass
class Line:
    direction: str  # CRDT | DBIT
    amount: Decimal
    name: str
    account: str | None
    remittance: str
    reference: str


@dataclass
class DayStatement:
    day: date
    currency: str
    seq: int
    opening: Decimal
    lines: list[Line] = field(default_factory=list)

    @property
    def closing(self) -> Decimal:
        credits = sum((line.amount for line in self.lines if line.direction == "CRDT"), Decimal(0))
        debits = sum((line.amount for line in self.lines if line.direction == "DBIT"), Decimal(0))
        return self.opening + credits - debits


@dataclass
class BankFile:
    """A file the banks send. Its bytes are rendered when first read (``content``): listing three years of
    files (names, days, kinds) costs no rendering, and each advance renders only the files it delivers."""

    name: str
    day: date
    render: Callable[[], bytes] = field(repr=False, compare=False)
    kind: str = "normal"  # normal | corrupt | resend | duplicate

    @cached_property
    def content(self) -> bytes:
        return self.render()


def statements(world: World) -> list[DayStatement]:
    """One statement per account per weekday, balances carried forward."""
    out: list[DayStatement] = []
    balance = {ccy: spec.opening for ccy, spec in ACCOUNTS.items()}
    seq = dict.fromkeys(ACCOUNTS, 0)
    cfg = world.config
    credits: dict[tuple[date, str], list[Line]] = {}
    for p in world.payments:
        credits.setdefault((p.booking_date, p.account_currency), []).append(
            Line("CRDT", p.amount, p.payer_name, p.payer_account, p.remittance, p.end_to_end_id)
        )
    debits: dict[tuple[date, str], list[Line]] = {}
    for d in world.debits:
        debits.setdefault((d.booking_date, d.account_currency), []).append(
            Line("DBIT", d.amount, d.counterparty, None, d.remittance, d.reference)
        )
    for offset in range(cfg.days):
        day = cfg.start + timedelta(days=offset)
        if day.weekday() >= 5:
            continue
        for ccy in ACCOUNTS:
            seq[ccy] += 1
            stmt = DayStatement(day, ccy, seq[ccy], balance[ccy])
            stmt.lines = credits.get((day, ccy), []) + debits.get((day, ccy), [])
            balance[ccy] = stmt.closing
            out.append(stmt)
    return out


def _mt_amount(value: Decimal) -> str:
    return f"{value:.2f}".replace(".", ",")


def render_mt940(stmt: DayStatement, closing_override: Decimal | None = None) -> bytes:
    spec = ACCOUNTS[stmt.currency]
    yymmdd = stmt.day.strftime("%y%m%d")
    closing = stmt.closing if closing_override is None else closing_override

    def bal(tag: str, amount: Decimal) -> str:
        mark = "C" if amount >= 0 else "D"
        return f":{tag}:{mark}{yymmdd}{stmt.currency}{_mt_amount(abs(amount))}"

    lines = [
        f"{{1:F01{spec.bic}0000000000}}{{2:I940{spec.bic}N}}{{4:",
        f":20:STMT{stmt.day:%Y%m%d}{stmt.currency}",
        f":25:{spec.iban}",
        f":28C:{stmt.seq:05d}/001",
        bal("60F", stmt.opening),
    ]
    for line in stmt.lines:
        mark = "C" if line.direction == "CRDT" else "D"
        lines.append(
            f":61:{yymmdd}{stmt.day:%m%d}{mark}{_mt_amount(line.amount)}NTRF{line.reference[:16]}//"
            f"{line.reference[-16:]}"
        )
        detail = f"/NAME/{line.name}/REMI/{line.remittance}"
        if line.account:
            detail += f"/IBAN/{line.account}"
        lines.append(":86:" + detail[:65])
        rest = detail[65:]
        while rest:
            lines.append(rest[:65])
            rest = rest[65:]
    lines += [bal("62F", closing), "-}"]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def render_camt053(stmt: DayStatement, closing_override: Decimal | None = None) -> bytes:
    spec = ACCOUNTS[stmt.currency]
    closing = stmt.closing if closing_override is None else closing_override
    created = datetime.combine(stmt.day + timedelta(days=1), time(1, 0), tzinfo=BUSINESS_TZ)

    def sub(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
        element = etree.SubElement(parent, f"{{{CAMT_NS}}}{tag}", attrib=attrs)
        if text is not None:
            element.text = text
        return element

    doc = etree.Element(f"{{{CAMT_NS}}}Document", nsmap={None: CAMT_NS})  # type: ignore[dict-item]
    root = sub(doc, "BkToCstmrStmt")
    hdr = sub(root, "GrpHdr")
    sub(hdr, "MsgId", f"CAMT{stmt.day:%Y%m%d}{stmt.currency}")
    sub(hdr, "CreDtTm", created.isoformat())
    st = sub(root, "Stmt")
    sub(st, "Id", f"{stmt.currency}-{stmt.day:%Y%m%d}")
    sub(st, "ElctrncSeqNb", str(stmt.seq))
    sub(st, "CreDtTm", created.isoformat())
    acct = sub(st, "Acct")
    sub(sub(acct, "Id"), "IBAN", spec.iban)
    sub(acct, "Ccy", stmt.currency)
    for code, amount in (("OPBD", stmt.opening), ("CLBD", closing)):
        bal = sub(st, "Bal")
        sub(sub(sub(bal, "Tp"), "CdOrPrtry"), "Cd", code)
        sub(bal, "Amt", f"{abs(amount):.2f}", Ccy=stmt.currency)
        sub(bal, "CdtDbtInd", "CRDT" if amount >= 0 else "DBIT")
        sub(sub(bal, "Dt"), "Dt", stmt.day.isoformat())
    for line in stmt.lines:
        ntry = sub(st, "Ntry")
        sub(ntry, "Amt", f"{line.amount:.2f}", Ccy=stmt.currency)
        sub(ntry, "CdtDbtInd", line.direction)
        sub(ntry, "Sts", "BOOK")
        sub(sub(ntry, "BookgDt"), "Dt", stmt.day.isoformat())
        sub(sub(ntry, "ValDt"), "Dt", stmt.day.isoformat())
        sub(ntry, "AcctSvcrRef", line.reference)
        domain = sub(sub(ntry, "BkTxCd"), "Domn")
        sub(domain, "Cd", "PMNT")
        fam = sub(domain, "Fmly")
        sub(fam, "Cd", "RCDT" if line.direction == "CRDT" else "ICDT")
        sub(fam, "SubFmlyCd", "ESCT")
        tx = sub(sub(ntry, "NtryDtls"), "TxDtls")
        sub(sub(tx, "Refs"), "EndToEndId", line.reference)
        parties = sub(tx, "RltdPties")
        party_tag = "Dbtr" if line.direction == "CRDT" else "Cdtr"
        sub(sub(parties, party_tag), "Nm", line.name)
        if line.account:
            sub(sub(sub(parties, party_tag + "Acct"), "Id"), "IBAN", line.account)
        sub(sub(tx, "RmtInf"), "Ustrd", line.remittance)
    return etree.tostring(doc, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def bank_files(world: World) -> list[BankFile]:
    """Every file the banks send over the whole horizon, including the injected bad ones."""
    cfg = world.config
    files: list[BankFile] = []
    bad_day = cfg.start + timedelta(days=cfg.bad_bank_file_day) if cfg.bad_bank_file_day is not None else None
    while bad_day is not None and bad_day.weekday() >= 5:
        bad_day += timedelta(days=1)
    for stmt in statements(world):
        fmt = ACCOUNTS[stmt.currency].format
        render = render_mt940 if fmt == "mt940" else render_camt053
        ext = "sta" if fmt == "mt940" else "xml"
        name = f"TRDB_{stmt.currency}_{fmt.upper()}_{stmt.day:%Y%m%d}.{ext}"
        if bad_day == stmt.day and stmt.currency == "CNY":
            # the bank's first transmission is broken (closing balance does not add up); a corrected
            # resend arrives the next morning under another name
            files.append(
                BankFile(name, stmt.day, partial(render, stmt, stmt.closing + Decimal("100.00")), "corrupt")
            )
            files.append(
                BankFile(
                    name.replace(f".{ext}", f"_R1.{ext}"),
                    stmt.day + timedelta(days=1),
                    partial(render, stmt),
                    "resend",
                )
            )
            continue
        files.append(BankFile(name, stmt.day, partial(render, stmt)))
        if bad_day is not None and stmt.day == bad_day + timedelta(days=7) and stmt.currency == "USD":
            # the same statement sent twice under two names: must load once
            files.append(
                BankFile(
                    name.replace(f".{ext}", f"_COPY.{ext}"),
                    stmt.day + timedelta(days=1),
                    partial(render, stmt),
                    "duplicate",
                )
            )
    return files


def drop_files(world: World, inbox: Path, delivered_registry: Path, through: date) -> list[str]:
    """Drop into ``inbox`` every file the banks had sent for business days up to ``through``.

    A file already delivered once (recorded in ``delivered_registry``) is not delivered again.
    """
    inbox.mkdir(parents=True, exist_ok=True)
    delivered = set(delivered_registry.read_text().split()) if delivered_registry.exists() else set()
    new = []
    for bank_file in bank_files(world):
        if bank_file.day <= through and bank_file.name not in delivered:
            tmp = inbox / f".{bank_file.name}.part"
            tmp.write_bytes(bank_file.content)
            tmp.rename(inbox / bank_file.name)  # atomic: the ingest never sees half a file
            new.append(bank_file.name)
    if new:
        delivered_registry.parent.mkdir(parents=True, exist_ok=True)
        with delivered_registry.open("a") as handle:
            handle.write("".join(f"{n}\n" for n in new))
    return new
