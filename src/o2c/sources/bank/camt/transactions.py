"""``TxDtls`` → :class:`~o2c.sources.bank.model.BankTransaction`: one payment inside an entry.

Element names differ between versions; each is looked up under all its names:

- parties: ``RltdPties/Dbtr/Nm`` (v1-v6) or ``Dbtr/Pty/Nm`` (v7+), or ``Dbtr/Agt/FinInstnId/Nm`` when the
  party is a bank (v7+); accounts ``DbtrAcct/Id/IBAN`` or ``Othr/Id`` (v1: ``BBAN``, ``UPIC``,
  ``PrtryAcct/Id``); agent BIC ``RltdAgts/DbtrAgt/FinInstnId/BICFI`` (v3+) or ``BIC`` (v1/v2);
- remittance: ``RmtInf/Ustrd``; ``Strd/CdtrRefInf/Ref`` with ``Tp/CdOrPrtry/Cd|Prtry`` (v1:
  ``CdtrRefInf/CdtrRef`` with ``CdtrRefTp/Cd|Prtry``); ``Strd/RfrdDocInf/Nb`` (v1: ``RfrdDocNb``);
- returns: ``RtrInf/Rsn/Cd|Prtry`` and ``RtrInf/AddtlInf`` (v1: ``RtrRsn`` and ``AddtlRtrRsnInf``);
- amount and direction: ``TxDtls/Amt`` and ``TxDtls/CdtDbtInd`` exist from v3 only; v1/v2 give the
  amount in ``AmtDtls/TxAmt``.

The counterparty is the debtor of a credit and the creditor of a debit, of the *original* payment for a
reversal: a reversal (``RvslInd``) of a credit is booked as a debit, and its counterparty is still the
debtor. A return (``RtrInf`` without ``RvslInd``) is taken by its booking direction, as the parser this
package replaced did: the samples show no common convention for whose parties a return names (a returned
transfer credited back names as debtor the payee in PostFinance's camt.053 example, a company of the account
owner's name in its camt.054 one).
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any, NamedTuple

from o2c.sources.bank.camt.amounts import (
    NO_CHARGES,
    TRANSACTION_AMOUNT_DETAILS,
    amount_in,
    charges,
    exchange,
)
from o2c.sources.bank.camt.elements import Element, Node, as_reference, normalized, pick
from o2c.sources.bank.camt.values import account_id, amount, bic, indicator
from o2c.sources.bank.model import CREDIT, BankEntry, BankTransaction


def _field_defaults(cls: type) -> dict[str, Any]:
    """The field defaults of a frozen model dataclass, for :func:`new_transaction` and :func:`new_entry`.

    Raises:
        TypeError: When the class has a ``__post_init__`` or a field with a default factory, which filling
            the instance dictionary would skip (checked when the module is imported, so a change of the
            model fails loudly).
    """
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__} has a __post_init__: not built by o2c.sources.bank.camt")
    defaults = {}
    for fld in dataclasses.fields(cls):
        if fld.default_factory is not dataclasses.MISSING:
            raise TypeError(
                f"{cls.__name__}.{fld.name}: a default factory, not built by o2c.sources.bank.camt"
            )
        if fld.default is not dataclasses.MISSING:
            defaults[fld.name] = fld.default
    return defaults


_TRANSACTION_DEFAULTS = _field_defaults(BankTransaction)
_ENTRY_DEFAULTS = _field_defaults(BankEntry)
_new = object.__new__


def new_transaction(**values: Any) -> BankTransaction:
    """A :class:`BankTransaction` of ``values`` (every field without a default must be among them), the
    defaults for the rest.

    The frozen dataclass is filled through its instance dictionary rather than its generated ``__init__``,
    whose ``object.__setattr__`` per field costs 2-3 µs more for its 28 fields; the object is the same
    (``tests/unit/test_camt_parser.py`` rebuilds parsed ones through ``__init__`` and compares).
    """
    transaction: BankTransaction = _new(BankTransaction)
    transaction.__dict__.update(_TRANSACTION_DEFAULTS, **values)
    return transaction


def new_entry(**values: Any) -> BankEntry:
    """A :class:`BankEntry` of ``values``, the defaults for the rest (see :func:`new_transaction`)."""
    entry: BankEntry = _new(BankEntry)
    entry.__dict__.update(_ENTRY_DEFAULTS, **values)
    return entry


class Codes(NamedTuple):
    """A bank transaction code (``BkTxCd``): ISO domain/family/sub-family and the proprietary code."""

    domain: str | None = None
    family: str | None = None
    sub_family: str | None = None
    proprietary: str | None = None

    @property
    def label(self) -> str | None:
        """``Domain/Family/SubFamily`` when the ISO code is given, else the proprietary code."""
        if self.domain:
            return "/".join(part for part in (self.domain, self.family, self.sub_family) if part)
        return self.proprietary


NO_CODES = Codes()


def codes(code: Element | None) -> Codes:
    """A ``BkTxCd`` element (:data:`NO_CODES` when absent or empty)."""
    if code is None:
        return NO_CODES
    parts = pick(code, ("Domn", "Prtry"))
    domain = family = sub_family = proprietary = None
    if "Domn" in parts:
        inside = pick(parts["Domn"], ("Cd", "Fmly"))
        domain = normalized(inside["Cd"].text) if "Cd" in inside else None
        if "Fmly" in inside:
            codes_of_family = pick(inside["Fmly"], ("Cd", "SubFmlyCd"))
            family = normalized(codes_of_family["Cd"].text) if "Cd" in codes_of_family else None
            sub = codes_of_family.get("SubFmlyCd")
            sub_family = None if sub is None else normalized(sub.text)
    if "Prtry" in parts:
        proprietary_code = pick(parts["Prtry"], ("Cd",)).get("Cd")
        proprietary = None if proprietary_code is None else normalized(proprietary_code.text)
    if domain is None and family is None and sub_family is None and proprietary is None:
        return NO_CODES
    return Codes(domain, family, sub_family, proprietary)


class Parent(NamedTuple):
    """What the transactions of an entry inherit from it."""

    where: str
    """the entry, for messages"""
    currency: str
    """the account currency"""
    direction: str
    is_reversal: bool
    single_amount: Decimal | None
    """the entry amount when the entry books one payment only (no batch), else ``None``"""
    codes: Codes
    details: Node | None
    """``Ntry/AmtDtls`` when the entry books one payment only, else ``None``"""


class Extras(NamedTuple):
    """What the entry's summary needs of a transaction besides its :class:`BankTransaction` fields."""

    customer_reference: str | None
    """end-to-end id, else instruction id, else payment information id"""
    remittance: str | None
    """unstructured lines and structured references, joined"""
    additional: str | None
    """``AddtlTxInf``"""
    foreign_charges: int


def _name(party: Element | None) -> str | None:
    """Name of a party: ``Nm`` (to v6), ``Pty/Nm`` (v7+), or a bank's ``Agt/FinInstnId/Nm`` (v7+)."""
    if party is None:
        return None
    parts = pick(party, ("Nm", "Pty", "Agt"))
    name = normalized(parts["Nm"].text) if "Nm" in parts else None
    if not name and "Pty" in parts:
        inner = pick(parts["Pty"], ("Nm",))
        name = normalized(inner["Nm"].text) if "Nm" in inner else None
    if not name and "Agt" in parts:
        name = Node(parts["Agt"]).text("FinInstnId", "Nm")
    return name


class _Parties(NamedTuple):
    name: str | None
    account: str | None
    bic_of_party: str | None
    ultimate_debtor: str | None
    ultimate_creditor: str | None


_NO_PARTIES = _Parties(None, None, None, None, None)


def _parties(parties: Node | None, role: str) -> _Parties:
    """The counterparty (``role`` ``Dbtr`` or ``Cdtr``) and the ultimate parties of ``RltdPties``."""
    if parties is None:
        return _NO_PARTIES
    party = parties.element_of(role)
    ultimate_debtor = _name(parties.element_of("UltmtDbtr"))
    ultimate_creditor = _name(parties.element_of("UltmtCdtr"))
    name = _name(party) or (ultimate_debtor if role == "Dbtr" else ultimate_creditor)
    agent = None if party is None else pick(party, ("Agt",)).get("Agt")
    own_bic = None if agent is None else bic(Node(agent))
    account = account_id(parties.element_of(role + "Acct"))
    return _Parties(name, account, own_bic, ultimate_debtor, ultimate_creditor)


class _Remittance(NamedTuple):
    unstructured: str | None
    creditor_reference: str | None
    creditor_reference_type: str | None
    documents: tuple[str, ...]
    text: str | None


_NO_REMITTANCE = _Remittance(None, None, None, (), None)


def _reference_type(parts: dict[str, Element]) -> str | None:
    """``CdtrRefInf/Tp/CdOrPrtry/Cd|Prtry`` (v1: ``CdtrRefTp/Cd|Prtry``)."""
    kind = None
    if "Tp" in parts:
        kind = pick(parts["Tp"], ("CdOrPrtry",)).get("CdOrPrtry")
    elif "CdtrRefTp" in parts:
        kind = parts["CdtrRefTp"]
    if kind is None:
        return None
    code = pick(kind, ("Cd", "Prtry"))
    found = code.get("Cd", code.get("Prtry"))
    return None if found is None else normalized(found.text)


def _remittance(info: Node | None) -> _Remittance:
    """An ``RmtInf`` element."""
    if info is None:
        return _NO_REMITTANCE
    lines = [line.value for line in info.findall("Ustrd")]
    unstructured = " ".join(line for line in lines if line) or None
    if not info.has("Strd"):
        return _Remittance(unstructured, None, None, (), unstructured)
    parts: list[str | None] = list(lines)
    creditor_reference = creditor_reference_type = None
    documents: list[str] = []
    for structured in info.findall("Strd"):
        creditor = structured.element_of("CdtrRefInf")
        reference = None
        if creditor is not None:
            found = pick(creditor, ("Ref", "CdtrRef", "Tp", "CdtrRefTp"))  # v1: CdtrRef, CdtrRefTp
            element = found.get("Ref", found.get("CdtrRef"))
            reference = None if element is None else normalized(element.text)
            if reference and creditor_reference is None:
                creditor_reference = reference
                creditor_reference_type = _reference_type(found)
        parts.append(reference)
        for document in structured.findall("RfrdDocInf"):
            number = document.value_of("Nb") or document.value_of("RfrdDocNb")  # v1: RfrdDocNb
            parts.append(number)
            if number and number not in documents:
                documents.append(number)
        parts.extend(extra.value for extra in structured.findall("AddtlRmtInf"))
    joined = " ".join(part for part in parts if part) or None
    return _Remittance(unstructured, creditor_reference, creditor_reference_type, tuple(documents), joined)


def _return(info: Node | None) -> tuple[str | None, list[str | None]]:
    """Return reason code and additional texts of an ``RtrInf`` (v1: ``RtrRsn``, ``AddtlRtrRsnInf``)."""
    if info is None:
        return None, []
    reason = info.get("Rsn") or info.get("RtrRsn")
    code = None if reason is None else reason.value_of("Cd") or reason.value_of("Prtry")
    texts = [t.value for t in info.findall("AddtlInf")] + [t.value for t in info.findall("AddtlRtrRsnInf")]
    return code, texts


def _amount(element: Element | None, details: Node | None, parent: Parent, where: str) -> Decimal | None:
    """The transaction amount in the account currency: ``TxDtls/Amt`` (v3+), else an ``AmtDtls`` amount in
    the account currency (``TxAmt`` first), else the entry amount when the entry books this payment only."""
    if element is not None:
        value, currency = amount(element, where)
        if currency is None or currency == parent.currency:
            return value
    converted = amount_in(details, TRANSACTION_AMOUNT_DETAILS, parent.currency, where)
    return parent.single_amount if converted is None else converted


def _joined(values: list[str | None]) -> str | None:
    """Distinct non-empty values in order, joined with `` | ``."""
    return " | ".join(dict.fromkeys(v for v in values if v)) or None


def read_transaction(tx: Node, seq: int, parent: Parent) -> tuple[BankTransaction, Extras]:
    """Build the :class:`BankTransaction` of one ``TxDtls`` (``seq`` is its 1-based position)."""
    where = f"{parent.where}, TxDtls {seq}"
    stated = tx.value_of("CdtDbtInd")
    direction = parent.direction if stated is None else indicator(stated, where)
    role = "Dbtr" if (direction == CREDIT) != parent.is_reversal else "Cdtr"
    parties = _parties(tx.get("RltdPties"), role)
    details = tx.get("AmtDtls")
    fx = exchange(parent.details if details is None else details, where)
    fees = charges(tx, parent.currency, where) if tx.has("Chrgs") else NO_CHARGES
    code = codes(tx.element_of("BkTxCd"))
    if code is NO_CODES:
        code = parent.codes
    remittance = _remittance(tx.get("RmtInf"))
    reason, return_texts = _return(tx.get("RtrInf"))
    additional = tx.value_of("AddtlTxInf")
    refs = tx.get("Refs")
    if refs is None:
        end_to_end = instruction = identification = mandate = servicer = payment_info = None
    else:
        end_to_end = as_reference(refs.value_of("EndToEndId"))
        instruction = as_reference(refs.value_of("InstrId"))
        identification = as_reference(refs.value_of("TxId")) or as_reference(refs.value_of("UETR"))
        mandate = as_reference(refs.value_of("MndtId"))
        servicer = as_reference(refs.value_of("AcctSvcrRef"))
        payment_info = as_reference(refs.value_of("PmtInfId"))
    agent_bic = bic(tx.find("RltdAgts", role + "Agt")) if tx.has("RltdAgts") else None
    transaction = new_transaction(
        tx_seq=seq,
        amount=_amount(tx.element_of("Amt"), details, parent, where),
        direction=direction,
        end_to_end_id=end_to_end,
        instruction_id=instruction,
        transaction_id=identification,
        mandate_id=mandate,
        account_servicer_reference=servicer,
        remittance_unstructured=remittance.unstructured,
        creditor_reference=remittance.creditor_reference,
        creditor_reference_type=remittance.creditor_reference_type,
        referred_documents=remittance.documents,
        counterparty_name=parties.name,
        counterparty_account=parties.account,
        counterparty_bic=agent_bic or parties.bic_of_party,
        ultimate_debtor=parties.ultimate_debtor,
        ultimate_creditor=parties.ultimate_creditor,
        domain_code=code.domain,
        family_code=code.family,
        sub_family_code=code.sub_family,
        proprietary_code=code.proprietary,
        charges=fees.amount,
        charge_bearer=fees.bearer,
        instructed_amount=fx.instructed_amount,
        instructed_currency=fx.instructed_currency,
        exchange_rate=fx.rate,
        return_reason=reason,
        additional_info=_joined([additional, *return_texts]) if return_texts else additional,
    )
    extras = Extras(
        customer_reference=end_to_end or instruction or payment_info,
        remittance=remittance.text,
        additional=additional,
        foreign_charges=fees.foreign,
    )
    return transaction, extras


def findall_transactions(entry: Node, entry_details: list[Node]) -> list[Node]:
    """All transaction details of an entry: those of its ``NtryDtls`` (v2+), else its own ``TxDtls`` (v1)."""
    if not entry_details:
        return entry.findall("TxDtls")
    if len(entry_details) == 1:
        return entry_details[0].findall("TxDtls")
    return [tx for element in entry_details for tx in element.findall("TxDtls")]
