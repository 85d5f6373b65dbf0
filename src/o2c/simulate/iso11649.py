"""ISO 11649 structured creditor references ("RF references"), as the trader prints them on its invoices.

A reference is ``RF``, two check digits and the creditor's own reference (here the invoice number, 1 to 21
letters and digits). The check digits are ISO 7064 MOD 97-10, as in an IBAN:

1. append ``RF00`` to the reference (``0090001234RF00``);
2. replace each letter by two digits, A = 10 … Z = 35 (``R`` = 27, ``F`` = 15): ``0090001234271500``;
3. the check digits are 98 − (that number mod 97), written with two digits: ``RF`` + them + the reference.

A reference is valid when moving its first four characters to the end, replacing the letters the same way,
gives a number whose remainder mod 97 is 1 (ISO's own example: ``RF18539007547034``). Payers often print it
in groups of four (``RF16 0090 0012 34``): blanks are not part of it. The warehouse mirrors :func:`is_valid`
to recognise one in a remittance, and strips the ``RF`` and check digits to get the invoice number back.
"""

from __future__ import annotations

import re

_REFERENCE = re.compile(r"^[0-9A-Z]{1,21}$")


def _digits(text: str) -> int:
    """``text`` with each letter replaced by its two-digit value (A = 10 … Z = 35), as a number."""
    return int("".join(str(int(char, 36)) for char in text))


def rf_reference(reference: str) -> str:
    """The RF creditor reference of ``reference`` (1–21 letters or digits, case and blanks ignored)."""
    body = "".join(reference.split()).upper()
    if not _REFERENCE.match(body):
        raise ValueError(f"an RF reference holds 1 to 21 letters or digits, not {reference!r}")
    check = 98 - _digits(body + "RF00") % 97
    return f"RF{check:02d}{body}"


def is_valid(reference: str) -> bool:
    """Is ``reference`` a well-formed RF creditor reference with the right check digits?"""
    text = "".join(reference.split()).upper()
    if not (text.startswith("RF") and text[2:4].isdigit() and _REFERENCE.match(text[4:] or "-")):
        return False
    return _digits(text[4:] + text[:4]) % 97 == 1


def grouped(reference: str) -> str:
    """The reference in groups of four characters, as printed on paper (``RF16 0090 0012 34``)."""
    return " ".join(reference[i : i + 4] for i in range(0, len(reference), 4))
