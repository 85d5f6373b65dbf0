"""Read the ``:86:`` details of an entry: wrapped lines, structured sub-fields, counterparty and references."""

from __future__ import annotations

import re
from typing import Any

from o2c.sources.bank.mt940.fields import Field

_SWIFT_LINE_WIDTH = 65

_SUBFIELD_DETAILS = re.compile(r"^(?:\d{3}[?>]\d{2}|/[A-Z]{2,9}/)")
"""German ``?NN`` / Triodos ``>NN`` sub-fields, or Dutch ``/TAG/`` structured details."""
_IBAN = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{10,30}$")
_STRUCTURED_KEYS = (
    "TRTP|IBAN|BIC|NAME|REMI|EREF|ORDP|BENM|ADDR|CSID|MARF|PREF|RTRN|ISDT|CNTP|SVCL|PURP"
    "|ULTC|ULTD|ULTB|BUSP|OCMT|CHGS|EXCH|CDTRREFTP|CDTRREF|TRCD|ID"
)
_STRUCTURED_TOKEN = re.compile(rf"/({_STRUCTURED_KEYS})/")
_STRUCTURED_KEY_SET = frozenset(_STRUCTURED_KEYS.split("|"))
_ACCOUNT = re.compile(r"^(?:[A-Z]{2}\d{2}[A-Z0-9]{10,30}|\d{7,18})$")
_NOT_PROVIDED = frozenset({"", "NONREF", "NOTPROVIDED", "NONE"})


def _join_lines(lines: list[str], first_offset: int, hard_wrap_only: bool) -> str:
    """Join wrapped lines: no space after a full-width (65) line, else one space."""
    text = lines[0]
    full_width = len(lines[0]) + first_offset >= _SWIFT_LINE_WIDTH
    for line in lines[1:]:
        text = f"{text}{line}" if hard_wrap_only or full_width else f"{text.rstrip()} {line}"
        full_width = len(line) >= _SWIFT_LINE_WIDTH
    return " ".join(text.split())


def join_details(details: list[Field]) -> str | None:
    """Join the lines of the ``:86:`` fields of an entry into one string.

    SWIFT wraps ``:86:`` at 65 characters regardless of words, so a full-width line continues
    without a space; shorter lines were broken on purpose and are joined with a space.
    Sub-field formats (German ``?NN``, Triodos ``>NN``, Dutch ``/TAG/``) are hard-wrapped
    anywhere, even mid-word on short lines, so their lines are always joined without a space.
    Runs of blanks become one blank.
    """
    parts = []
    for fld in details:
        lines = [line for line in fld.lines if line.strip()]
        if lines:
            sub_fields = bool(_SUBFIELD_DETAILS.match(lines[0]))
            parts.append(_join_lines(lines, len(fld.tag) + 2, sub_fields))
    joined = " ".join(part for part in parts if part)
    return joined or None


def parse_structured_details(text: str) -> dict[str, str]:
    """Split Dutch-style structured details (``/CNTP/…/REMI/…/EREF/…``) into key → value."""
    if not text.startswith("/"):
        return {}
    tokens = _STRUCTURED_TOKEN.split(text)
    # tokens: [prefix, key1, value1, key2, value2, ...]
    values: dict[str, str] = {}
    for key, value in zip(tokens[1::2], tokens[2::2], strict=True):
        values.setdefault(key, value.strip().rstrip("/").strip())
    return values


def _counterparty_from_structured(values: dict[str, str]) -> tuple[str | None, str | None]:
    """Counterparty (name, account) from structured details."""
    if "CNTP" in values:
        parts = [p.strip() for p in values["CNTP"].split("/")]
        account = parts[0] if parts and parts[0] else None
        name = parts[2] if len(parts) > 2 and parts[2] else None
        return name, account
    return values.get("NAME") or None, values.get("IBAN") or None


def clean_ref(value: object) -> str | None:
    """A reference as a stripped string, or None for empty/``NONREF``/``NOTPROVIDED``."""
    if not isinstance(value, str):
        return None
    text = " ".join(value.split())
    return None if text.upper() in _NOT_PROVIDED else text


def references(data: dict[str, Any], structured: dict[str, str]) -> tuple[str | None, str | None, str | None]:
    """Customer reference, counterparty name and counterparty account of an entry.

    Sources, in order: German ``?NN`` sub-fields (parsed by the library), Dutch ``/TAG/``
    details, and two bank habits on the ``:61:`` line itself: ASN/SNS put the counterparty IBAN
    into the customer reference and its name on the supplementary line; Rabobank puts the
    counterparty account on the supplementary line and a placeholder such as ``EREF`` into the
    customer reference, meaning "see /EREF/ in :86:".
    """
    reference = clean_ref(data.get("swift_customer_reference"))
    extra = clean_ref(data.get("swift_extra_details"))
    if "applicant_name" in data or "applicant_iban" in data:
        name, account = (
            clean_ref(data.get("applicant_name")),
            clean_ref(data.get("applicant_iban")),
        )
    else:
        name, account = _counterparty_from_structured(structured)
    if reference and _IBAN.match(reference):
        account, name, reference = account or reference, name or extra, None
    elif extra and _ACCOUNT.match(extra):
        account = account or extra
    if reference and reference.upper() in _STRUCTURED_KEY_SET:
        reference = clean_ref(structured.get(reference.upper()))
    reference = reference or clean_ref(data.get("end_to_end_reference")) or clean_ref(structured.get("EREF"))
    return reference, name, account
