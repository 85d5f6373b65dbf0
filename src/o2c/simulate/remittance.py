"""What payers write in a payment's remittance information: the invoice number as the trader printed it, or
mistyped, or another document's number, or nothing useful at all.

Document numbers are stored with leading zeros (``0090001234``); SAP shows them without (``90001234``), and
payers copy either. Texts for accounts reported in MT940 keep to the SWIFT character set (no ``#``, no
Chinese); camt accounts get Chinese and other prefixes too.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from o2c.simulate.catalog import Row

SWIFT_PREFIXES = ("INV", "INV NO.", "INVOICE NO.", "INV-", "INV.")
"""Prefixes glued to an invoice number that SWIFT's character set allows."""
UNICODE_PREFIXES = ("发票", "发票号", "Invoice#", "INV#", "Inv.No:")
"""Further prefixes camt payers use."""


def shown(number: str, rng: random.Random) -> str:
    """A document number as a payer copies it: with its leading zeros or, as SAP displays it, without."""
    return number if rng.random() < 0.5 else number.lstrip("0")


def mistyped(
    invoice: str, rng: random.Random, unicode_ok: bool, taken: Callable[[str], bool]
) -> tuple[str, str]:
    """The invoice number mistyped, and how (``missing_digit``, ``swapped_digits``, ``spaces``, ``prefix``).
    A mistake that would spell another existing document number (``taken``, given 10 digits) is not made:
    the remittance would then name that document, not mistype this one."""
    number = invoice.lstrip("0")
    forms = ["missing_digit", "swapped_digits", "spaces", "prefix"]
    rng.shuffle(forms)
    for form in forms:
        if form == "missing_digit":
            position = rng.randrange(len(number))
            wrong = number[:position] + number[position + 1 :]
            if not taken(wrong.zfill(10)):
                return f"PAYMENT INV {wrong}", form
        elif form == "swapped_digits":
            pairs = [i for i in range(len(number) - 1) if number[i] != number[i + 1]]
            if pairs:
                i = rng.choice(pairs)
                wrong = number[:i] + number[i + 1] + number[i] + number[i + 2 :]
                if not taken(wrong.zfill(10)):
                    return f"INV {wrong} PAYMENT", form
        elif form == "spaces":
            cut = rng.randrange(2, len(number) - 1)
            spaced = f"{number[:cut]} {number[cut:]}"
            if rng.random() < 0.3:
                spaced = " ".join(number[i : i + 3] for i in range(0, len(number), 3))
            return f"PAYMENT INV {spaced}", form
        else:
            prefixes = SWIFT_PREFIXES + (UNICODE_PREFIXES if unicode_ok else ())
            return f"{rng.choice(prefixes)}{shown(invoice, rng)}", form
    return f"INV NO.{number}", "prefix"


def other_document(kind: str, number: str, rng: random.Random, unicode_ok: bool) -> str:
    """A remittance quoting the order, delivery or contract number instead of the invoice's."""
    texts = {
        "order": ["PAYMENT ORDER {n}", "PO {n}", "SO NO.{n} PAYMENT"],
        "delivery": ["DELIVERY {n}", "DN {n} PAYMENT", "DO NO.{n}"],
        "contract": ["CONTRACT {n}", "S/C NO.{n}", "PAYMENT CONTRACT NO. {n}"],
    }[kind]
    if unicode_ok:
        texts += {
            "order": ["订单{n}货款"],
            "delivery": ["提货单{n}"],
            "contract": ["合同{n}货款", "合同号{n}"],
        }[kind]
    return rng.choice(texts).format(n=shown(number, rng))


def without_reference(customer: Row, rng: random.Random, unicode_ok: bool) -> str:
    """A remittance naming no document: the payer's name, or a word for goods."""
    texts = [f"{customer['NAME'][:20].upper()} PAYMENT", "PAYMENT", "BULK PAYMENT", "TT REMITTANCE"]
    if unicode_ok:
        texts += ["货款", "付货款"]
    return rng.choice(texts)


def listing(invoices: list[str], credits: list[str], rng: random.Random) -> str:
    """A combined payment's remittance listing ``invoices`` (and the credit memos deducted)."""
    text = "PAYMENT INV " + " ".join(shown(i, rng) for i in invoices)
    if credits:
        text += " LESS CN " + " ".join(credits)
    return text[:140]


def unidentified(rng: random.Random, unicode_ok: bool) -> str:
    """An unknown payer's remittance: nothing that names a document."""
    texts = ["", "PAYMENT", "TRADE SETTLEMENT", "GOODS", "REMITTANCE"]
    if unicode_ok:
        texts += ["货款", "往来款"]
    return rng.choice(texts)
