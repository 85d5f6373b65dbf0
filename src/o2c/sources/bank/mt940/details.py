"""Read the ``:86:`` details of an entry: the joined text, and the payment's references, counterparty and
amounts where the bank structures them.

Formats read (``/work/shared/data/mt940`` holds real samples of each):

* German DFÜ-Abkommen (Anlage 3) sub-fields ``GVC?00…?10…?20…?29?30…?31…?32…?33…?34…?60…?63``:
  ``?00`` posting text, ``?20``–``?29`` and ``?60``–``?63`` the purpose,
  hard-wrapped at 27 characters and joined without blanks, with SEPA keys inside it (``EREF+``, ``KREF+``,
  ``MREF+``, ``CRED+``, ``SVWZ+``, ``ABWA+``, ``ABWE+``, ``OAMT+``, ``COAM+``, …); ``?30`` bank code or
  BIC, ``?31`` account, ``?32``+``?33`` name, ``?34`` the text key extension, which for a returned payment
  (GVC 109, 159) is the return reason;
* Triodos ``000>10…>20…>31…`` (see :func:`_read_triodos`);
* Dutch "SWIFT structured" details (ING, Rabobank, ABN AMRO, bunq, Knab, Triodos): ``/KEY/value``
  sub-fields (``/EREF/``, ``/REMI/``, ``/CNTP/account/BIC/name/city/``, ``/ORDP/`` and ``/BENM/``
  with positional or ``/NAME/``-keyed parts, ``/MARF/``, ``/RTRN/``, ``/ULTD/``, ``/CHGS/``, ``/OCMT/``,
  ``/EXCH/``, …), hard-wrapped at 65 characters anywhere;
* ABN AMRO's labelled SEPA text (``SEPA OVERBOEKING IBAN: … BIC: … NAAM: … OMSCHRIJVING: … KENMERK: …``);
* SEPA keys (``EREF+…SVWZ+…``) in otherwise free text;
* free text: all of it is the remittance information; an ISO 11649 creditor reference (``RF18…``, check
  digits verified) found in it is the creditor reference.
"""

from __future__ import annotations

import itertools
import re
from decimal import Decimal, InvalidOperation

from o2c.sources.bank.mt940.fields import Field

_SWIFT_LINE_WIDTH = 65
_NO_KEYS: dict[str, str] = {}
_NOT_PROVIDED = frozenset({"", "NONREF", "NOTPROVIDED", "NONE"})
_RETURN_GVCS = frozenset({"109", "159"})
"""German business transaction codes of returned payments (SEPA direct debit and credit transfer)."""

_SUBFIELD_DETAILS = re.compile(r"(?:\d{3}[?>]\d{2}|/[A-Z]{2,9}/)")
"""German ``?NN`` / Triodos ``>NN`` sub-fields, or Dutch ``/TAG/`` structured details."""
_GERMAN = re.compile(r"(\d{3})([?>])\d\d")
_GERMAN_SUBFIELD = {"?": re.compile(r"\?(\d\d)"), ">": re.compile(r">(\d\d)")}
_PURPOSE_SUBFIELDS = frozenset(
    {"20", "21", "22", "23", "24", "25", "26", "27", "28", "29", "60", "61", "62", "63"}
)
_REFERENCE_KEYS = frozenset({"EREF", "KREF", "MREF", "CRED", "DEBT"})
_MAX_REFERENCE = 35
_SEPA_KEY = re.compile(
    r"(EREF|KREF|MREF|CRED|DEBT|SVWZ|ABWA|ABWE|IBAN|BIC|PURP|MDAT|SQTP|ORCR|ORMR|DDAT|COAM|OAMT)\+"
)
STRUCTURED_KEYS = (
    "TRTP|IBAN|BIC|NAME|REMI|EREF|IREF|ORDP|BENM|ADDR|CSID|MARF|PREF|RTRN|ISDT|CNTP|SVCL|PURP"
    "|ULTC|ULTD|ULTB|BUSP|OCMT|CHGS|EXCH|CDTRREFTP|CDTRREF|CD|ISSR|TRCD|ID|ACCW|BBAN"
)
_STRUCTURED_TOKEN = re.compile(rf"/({STRUCTURED_KEYS})/")
_ABN_LABEL = re.compile(
    r"\b(IBAN|BIC|NAAM|OMSCHRIJVING|KENMERK|BETALINGSKENM\.|MACHTIGING|INCASSANT|ID DEBITEUR):\s?"
)
_MONEY_KEYS = re.compile(r"/(OCMT|CHGS|EXCH)/([^/]*)")
_CURRENCY_AMOUNT = re.compile(r"\s*([A-Z]{3})?\s*(\d+(?:,\d*)?)\s*$")
_IBAN = re.compile(r"[A-Z]{2}\d{2}[A-Z0-9]{10,30}")
_BIC = re.compile(r"[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}(?:[A-Z0-9]{3})?")
_RF_COMPACT = re.compile(r"RF\d\d[0-9A-Z]{1,21}\b")
_RF_GROUPED = re.compile(r"RF\d\d(?: [0-9A-Z]{4}){0,5}(?: [0-9A-Z]{1,4})?\b")
"""(Without a leading ``\\b``, so that the regular expression engine searches for ``RF`` directly; the
character before is checked by :func:`_rf_reference`.)"""


class Details:
    """What the ``:86:`` details of one entry say (text ``None`` when absent or a placeholder).

    The attributes default to ``None`` on the class; a reader sets those it finds (one object per entry,
    so setting only what is there keeps it cheap).
    """

    remittance_unstructured: str | None = None
    end_to_end_id: str | None = None
    instruction_id: str | None = None
    mandate_id: str | None = None
    creditor_reference: str | None = None
    creditor_reference_type: str | None = None
    counterparty_name: str | None = None
    counterparty_account: str | None = None
    counterparty_bic: str | None = None
    ultimate_debtor: str | None = None
    ultimate_creditor: str | None = None
    code: str | None = None
    """The German business transaction code (GVC), e.g. ``166``."""
    return_reason: str | None = None
    charges: Decimal | None = None
    charges_currency: str | None = None
    instructed_amount: Decimal | None = None
    instructed_currency: str | None = None
    exchange_rate: Decimal | None = None
    additional_info: str | None = None

    def __init__(self, remittance_info: str | None) -> None:
        self.remittance_info = remittance_info
        """All the text, joined and whitespace-normalized (with any sub-field codes)."""
        self.keyed: dict[str, str] = _NO_KEYS
        """The keyed values read (``EREF``, ``KREF``, ``PREF``, …), for a ``:61:`` reference that only
        names the key (Rabobank ``EREF``, Deutsche Bank ``KREF+``); read-only."""


def clean(value: str | None) -> str | None:
    """Whitespace-normalized text, ``None`` for empty/``NONREF``/``NOTPROVIDED``/``NONE``."""
    if not value:
        return None
    text = " ".join(value.split())
    return None if text.upper() in _NOT_PROVIDED else text


def _normalized(text: str) -> str:
    """The text with runs of blanks as one blank, none at the ends."""
    return " ".join(text.split())


def _join_lines(lines: list[str], first_offset: int) -> str:
    """Join wrapped lines: no blank after a full-width (65) line, else one blank."""
    text = lines[0]
    full_width = len(text) + first_offset >= _SWIFT_LINE_WIDTH
    for line in lines[1:]:
        text = f"{text}{line}" if full_width else f"{text.rstrip()} {line}"
        full_width = len(line) >= _SWIFT_LINE_WIDTH
    return _normalized(text)


def _join_field(fld: Field) -> str:
    """The lines of one ``:86:`` field, joined (see :func:`join_details`); the tokenizer has dropped
    blank continuation lines."""
    lines = fld.lines
    if len(lines) > 1 and not lines[0].strip():
        lines = lines[1:]
    if len(lines) == 1:
        return _normalized(lines[0])
    if _SUBFIELD_DETAILS.match(lines[0]):
        return _normalized("".join(lines))
    return _join_lines(lines, len(fld.tag) + 2)


def join_details(details: list[Field]) -> str | None:
    """Join the lines of the ``:86:`` fields of an entry into one string.

    SWIFT wraps ``:86:`` at 65 characters regardless of words, so a full-width line continues without a
    blank; shorter lines were broken on purpose and are joined with one. Sub-field formats (German
    ``?NN``, Triodos ``>NN``, Dutch ``/TAG/``) are hard-wrapped anywhere, even mid-word on short lines,
    so their lines are always joined without a blank. Runs of blanks become one blank.
    """
    if len(details) == 1:
        return _join_field(details[0]) or None
    joined = " ".join(part for part in map(_join_field, details) if part)
    return joined or None


def read_details(details: list[Field]) -> Details:
    """Read the ``:86:`` fields of one entry (see the module docstring)."""
    text = join_details(details) if details else None
    result = Details(text)
    if text is None:
        return result
    german = _GERMAN.match(text)
    if german is not None:
        raw = (
            "".join(details[0].lines)
            if len(details) == 1
            else "".join(line for fld in details for line in fld.lines)
        )
        if german.group(2) == "?":
            _read_german(result, raw)
        else:
            _read_triodos(result, raw)
    elif text[0] == "/":
        _read_structured(result, text)
    elif text[:5] == "SEPA " and ": " in text:
        _read_abn_labels(result, text)
    else:
        result.remittance_unstructured = text
        if "+" in text:
            _read_sepa_keys(result, text)
    if "RF" in text and result.creditor_reference is None:
        reference = _rf_reference(text)
        if reference is not None:
            result.creditor_reference, result.creditor_reference_type = reference, "SCOR"
    return result


def _subfields(raw: str, pattern: re.Pattern[str]) -> tuple[dict[str, str], list[str]]:
    """The ``?NN``/``>NN`` sub-fields after the 3-digit code: the others by number (``?33`` appended to
    ``?32``), and the purpose sub-fields (``20``–``29``, ``60``–``63``) in order."""
    parts = pattern.split(raw[3:])
    subfields: dict[str, str] = {}
    purpose = []
    for key, value in zip(parts[1::2], parts[2::2], strict=True):
        if key in _PURPOSE_SUBFIELDS:
            purpose.append(value)
        elif key == "33":
            subfields["32"] = subfields.get("32", "") + value
        elif key not in subfields:
            subfields[key] = value
    return subfields, purpose


def _read_german(result: Details, raw: str) -> None:
    """German ``GVC?NN…`` sub-fields."""
    code = result.code = raw[:3]
    subfields, purpose = _subfields(raw, _GERMAN_SUBFIELD["?"])
    get = subfields.get
    if "00" in subfields:
        result.additional_info = clean(get("00"))
    if "32" in subfields:
        result.counterparty_name = clean(get("32"))
    if "31" in subfields:
        result.counterparty_account = clean(get("31"))
    if "30" in subfields:
        result.counterparty_bic = _bic(get("30"))
    if code in _RETURN_GVCS:
        result.return_reason = clean(get("34"))
    text = "".join(purpose)
    if "+" in text and _read_sepa_keys(result, text, list(itertools.accumulate(map(len, purpose)))):
        return
    result.remittance_unstructured = clean(text)


def _read_triodos(result: Details, raw: str) -> None:
    """Triodos ``000>NN…`` sub-fields: ``>10`` the counterparty's domestic account (zeros: none), ``>20``
    onwards the text, which for a SEPA payment starts with the counterparty's BIC (``>20``) and IBAN
    (``>21``); ``>31`` is the account holder's own account."""
    result.code = raw[:3]
    subfields, purpose = _subfields(raw, _GERMAN_SUBFIELD[">"])
    account = clean(subfields.get("10"))
    result.counterparty_account = account if account and account.strip("0") else None
    if len(purpose) > 1 and _bic(purpose[0]) and _IBAN.fullmatch(purpose[1].strip()):
        result.counterparty_bic = _bic(purpose[0])
        result.counterparty_account = purpose[1].strip()
        purpose = purpose[2:]
    result.remittance_unstructured = clean("".join(purpose))


def _read_sepa_keys(result: Details, text: str, boundaries: list[int] | None = None) -> bool:
    """SEPA keys (``EREF+…``) in a purpose text; whether there were any.

    A key's value runs to the next key. In German sub-fields (``boundaries``: where each purpose sub-field
    ends in ``text``), a reference (``EREF``, ``KREF``, ``MREF``, ``CRED``, ``DEBT``: at most 35
    characters) that would run longer ends at the sub-field boundary before that, and the text after it
    (a bank's ``MTLG:`` message, say) is remittance text.
    """
    matches = list(_SEPA_KEY.finditer(text))
    if not matches:
        return False
    keyed: dict[str, str] = {}
    unlabelled = [text[: matches[0].start()]]
    last = len(matches) - 1
    for index, match in enumerate(matches):
        key = match.group(1)
        start = match.end()
        end = matches[index + 1].start() if index < last else len(text)
        if boundaries and end - start > _MAX_REFERENCE and key in _REFERENCE_KEYS:
            cut = max((b for b in boundaries if start < b <= start + _MAX_REFERENCE), default=end)
            unlabelled.append(text[cut:end])
            end = cut
        if key not in keyed:
            value = " ".join(text[start:end].split())
            if value and value.upper() not in _NOT_PROVIDED:
                keyed[key] = value
    result.keyed = keyed
    get = keyed.get
    result.remittance_unstructured = get("SVWZ") or clean(" ".join(unlabelled))
    if "EREF" in keyed:
        result.end_to_end_id = get("EREF")
    if "KREF" in keyed:
        result.instruction_id = get("KREF")
    if "MREF" in keyed:
        result.mandate_id = get("MREF")
    if "ABWA" in keyed:
        result.ultimate_debtor = get("ABWA")
    if "ABWE" in keyed:
        result.ultimate_creditor = get("ABWE")
    if "IBAN" in keyed and result.counterparty_account is None:
        result.counterparty_account = get("IBAN")
    if "BIC" in keyed and result.counterparty_bic is None:
        result.counterparty_bic = _bic(get("BIC"))
    if "OAMT" in keyed:
        result.instructed_amount = _amount(get("OAMT"))[1]
    if "COAM" in keyed:
        result.charges = _amount(get("COAM"))[1]
    return True


def parse_structured(text: str) -> dict[str, str]:
    """Split Dutch-style structured details (``/CNTP/…/REMI/…/EREF/…``) into key → value (first wins;
    values stripped of blanks and of the ``/`` that ends them)."""
    tokens = _STRUCTURED_TOKEN.split(text)
    # tokens: [prefix, key1, value1, key2, value2, ...]
    values: dict[str, str] = {}
    for key, value in zip(tokens[1::2], tokens[2::2], strict=True):
        if key not in values:
            values[key] = value.strip().rstrip("/").strip()
    return values


def _read_structured(result: Details, text: str) -> None:
    """Dutch "SWIFT structured" ``/KEY/value`` details (already whitespace-normalized)."""
    values = parse_structured(text)
    if not values:
        result.remittance_unstructured = text
        return
    keyed = result.keyed = {key: value for key, value in values.items() if value.upper() not in _NOT_PROVIDED}
    get = keyed.get
    if "EREF" in keyed:
        result.end_to_end_id = get("EREF")
    if "IREF" in keyed:
        result.instruction_id = get("IREF")
    if "MARF" in keyed:
        result.mandate_id = get("MARF")
    result.additional_info = get("TRTP") or get("BUSP")
    _read_remittance(result, keyed)
    _read_counterparty(result, keyed)
    if "ULTD" in keyed:
        result.ultimate_debtor = _first_part(get("ULTD"))
    if "ULTC" in keyed or "ULTB" in keyed:
        result.ultimate_creditor = _first_part(get("ULTC") or get("ULTB"))
    if "RTRN" in keyed:
        result.return_reason = _first_part(get("RTRN"))
    if "OCMT" in keyed or "EXCH" in keyed or "CHGS" in keyed:
        read_money_keys(result, keyed)


def _read_remittance(result: Details, values: dict[str, str]) -> None:
    """``/REMI/`` (``USTD//text``, ``STRD/CUR/reference``, ``//text``) and ``/CDTRREF/``."""
    remittance = values.get("REMI")
    if remittance:
        if remittance.startswith("STRD/"):
            result.creditor_reference = clean(remittance.rsplit("/", 1)[-1])
            result.creditor_reference_type = "SCOR" if result.creditor_reference else None
            remittance = None
        elif remittance.startswith("USTD//"):
            remittance = remittance[6:].strip() or None
        elif remittance.startswith("//"):
            remittance = remittance[2:].strip() or None
        result.remittance_unstructured = remittance
    if "CDTRREF" in values:
        result.creditor_reference = values["CDTRREF"]
        result.creditor_reference_type = values.get("CD")


def _read_counterparty(result: Details, values: dict[str, str]) -> None:
    """``/CNTP/account/BIC/name/city/``, ``/BENM/`` or ``/ORDP/`` with positional parts (ING; without a BIC
    the second part is the name), else ``/NAME/``, ``/IBAN/``, ``/BIC/``, ``/ACCW/account,BIC/`` or
    ``/BBAN/``."""
    party = values.get("CNTP") or values.get("BENM") or values.get("ORDP")
    if party:
        parts = [part.strip() for part in party.split("/")] + ["", ""]
        result.counterparty_account = clean(parts[0])
        result.counterparty_bic = _bic(parts[1])
        # ING: account/BIC/name/city; others (Komercijalna banka): account/name and address/...
        result.counterparty_name = clean(parts[2] if result.counterparty_bic or not parts[1] else parts[1])
        return
    get = values.get
    result.counterparty_name = get("NAME")
    result.counterparty_account = get("IBAN")
    result.counterparty_bic = _bic(get("BIC"))
    if "ACCW" in values:
        account, _, bic = values["ACCW"].partition(",")
        result.counterparty_account = result.counterparty_account or account.strip() or None
        result.counterparty_bic = result.counterparty_bic or _bic(bic)
    if "BBAN" in values and result.counterparty_account is None:
        result.counterparty_account = get("BBAN")


def _read_abn_labels(result: Details, text: str) -> None:
    """ABN AMRO's labelled SEPA text: ``SEPA OVERBOEKING IBAN: … BIC: … NAAM: … OMSCHRIJVING: …``."""
    parts = _ABN_LABEL.split(text)
    if len(parts) < 3:
        result.remittance_unstructured = text
        return
    labels: dict[str, str] = {}
    for label, value in zip(parts[1::2], parts[2::2], strict=True):
        labels.setdefault(label, value)
    result.additional_info = clean(parts[0])
    result.counterparty_account = clean(labels.get("IBAN"))
    result.counterparty_bic = _bic(labels.get("BIC"))
    result.counterparty_name = clean(labels.get("NAAM"))
    result.remittance_unstructured = clean(labels.get("OMSCHRIJVING"))
    result.end_to_end_id = clean(labels.get("KENMERK"))
    result.mandate_id = clean(labels.get("MACHTIGING"))
    reference = clean(labels.get("BETALINGSKENM."))
    if reference:
        result.creditor_reference, result.creditor_reference_type = reference, "SCOR"


def read_money_keys(result: Details, values: dict[str, str]) -> None:
    """``/OCMT/`` original amount, ``/EXCH/`` rate and ``/CHGS/`` charges (from ``:86:`` or ``:61:``); an
    ``/OCMT/`` with its currency replaces a German ``OAMT+`` amount (which has none)."""
    if "OCMT" in values and result.instructed_currency is None:
        currency, amount = _amount(values["OCMT"])
        if amount is not None:
            result.instructed_currency, result.instructed_amount = currency, amount
    if "EXCH" in values and result.exchange_rate is None:
        result.exchange_rate = _amount(values["EXCH"])[1]
    if "CHGS" in values and result.charges is None:
        result.charges_currency, result.charges = _amount(values["CHGS"])


def money_keys(text: str) -> dict[str, str]:
    """``/OCMT/``, ``/CHGS/`` and ``/EXCH/`` values in a text such as ``:61:`` supplementary details."""
    return dict(_MONEY_KEYS.findall(text))


def _amount(value: str | None) -> tuple[str | None, Decimal | None]:
    """``(currency, amount)`` of ``EUR11,85`` / ``11,85`` / ``1,0987``; ``(None, None)`` when unreadable."""
    if not value:
        return None, None
    match = _CURRENCY_AMOUNT.match(value.partition("/")[0])
    if match is None:
        return None, None
    try:
        return match.group(1), Decimal(match.group(2).replace(",", "."))
    except InvalidOperation:
        return None, None


def _bic(value: str | None) -> str | None:
    """A BIC (8 or 11 characters), ``None`` for anything else (a German bank code, a placeholder)."""
    if not value:
        return None
    text = value.strip()
    return text if _BIC.fullmatch(text) else None


def _first_part(value: str | None) -> str | None:
    """The first ``/``-separated part: the name of ``/ULTD/name/id``, the code of ``/RTRN/MS03/…``."""
    return clean(value.split("/", 1)[0]) if value else None


_RF_DIGITS = str.maketrans({chr(code): str(code - 55) for code in range(ord("A"), ord("Z") + 1)})
"""ISO 7064 letters as numbers: A = 10, …, Z = 35."""


def _rf_valid(reference: str) -> bool:
    """ISO 11649 check: the reference with ``RFnn`` moved to the end, letters as numbers, mod 97 is 1."""
    return int((reference[4:] + reference[:4]).translate(_RF_DIGITS)) % 97 == 1


def _rf_reference(text: str) -> str | None:
    """The first valid ISO 11649 creditor reference in a text (``RF18539007547034`` or grouped by four)."""
    for match in _RF_COMPACT.finditer(text):
        start = match.start()
        if (not start or not text[start - 1].isalnum()) and _rf_valid(match.group()):
            return match.group()
    for match in _RF_GROUPED.finditer(text):
        start = match.start()
        if start and text[start - 1].isalnum():
            continue
        groups = match.group().split(" ")
        while len(groups) > 1:
            candidate = "".join(groups)
            if _rf_valid(candidate):
                return candidate
            groups.pop()
    return None
