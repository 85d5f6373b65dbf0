"""Tokenize MT940 text into tag fields and assemble them into statement blocks (one per ``:20:``).

The tokenizer drops bank header lines (``ABNANL2A``, ``0000 01INGBNL2AXXXX00001``, ``:940:``) and
keeps line numbers for error messages; assembly attaches each ``:86:`` to its ``:61:`` and ignores the
statement-level ``:86:`` lines that follow the closing balance (ING, Zenith).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import mt940.tags

from o2c.sources.bank.model import BankFileError

_TAG_LINE = re.compile(r"^:(?P<tag>\d{2}[A-Z]?|NS[A-Z]?):(?P<value>.*)$")
_KNOWN_TAG_BASES = frozenset(str(key)[:2] for key in mt940.tags.TAG_BY_ID)
OPENING_TAGS = frozenset({"60", "60F", "60M"})
CLOSING_TAGS = frozenset({"62", "62F", "62M"})
AVAILABLE_TAGS = frozenset({"64", "65", "65F"})
_MT942_TAG_BASES = frozenset({"13", "34", "90"})
STATEMENT_NUMBER = re.compile(r"^\s*(?P<number>\d*)\s*(?:/\s*(?P<sequence>\d*))?\s*$")


@dataclass
class Field:
    """One tag with its value lines and the line number where it starts."""

    tag: str
    lines: list[str]
    line_no: int

    @property
    def first(self) -> str:
        """The first value line (the one holding the tag)."""
        return self.lines[0]

    def describe(self) -> str:
        """``:TAG: (line N)`` for messages."""
        return f":{self.tag}: (line {self.line_no})"


@dataclass
class EntryFields:
    """A ``:61:`` statement line and the ``:86:`` fields that belong to it."""

    line: Field
    details: list[Field] = field(default_factory=list)


@dataclass
class Block:
    """The fields of one statement (from one ``:20:`` to the next)."""

    reference: Field
    account: Field | None = None
    number: Field | None = None
    opening: Field | None = None
    closing: Field | None = None
    entries: list[EntryFields] = field(default_factory=list)
    mt942_tags: list[Field] = field(default_factory=list)


def _is_known_tag(tag: str) -> bool:
    """Whether the mt940 library knows the tag; unknown ones (``:12:``) are plain text."""
    return tag[:2] in _KNOWN_TAG_BASES


def tokenize(text: str) -> list[Field]:
    """Split cleaned MT940 text into fields.

    Lines that are not tags continue the current field. A line holding only ``-`` ends a SWIFT
    message; text after it up to the next tag (bank header lines) is skipped, as is text before
    the first tag. Empty lines are dropped.
    """
    fields: list[Field] = []
    current: Field | None = None
    for line_no, line in enumerate(text.split("\n"), start=1):
        match = _TAG_LINE.match(line)
        if match and _is_known_tag(match["tag"]):
            current = Field(match["tag"], [match["value"]], line_no)
            fields.append(current)
        elif line.strip() == "-":
            current = None
        elif current is not None and line.strip():
            current.lines.append(line)
    return fields


def split_statements(fields: list[Field]) -> tuple[list[list[Field]], list[Field]]:
    """Group fields into statements, each starting at a ``:20:``.

    Returns:
        The statement field lists and the fields found before the first ``:20:``.
    """
    blocks: list[list[Field]] = []
    leading: list[Field] = []
    for fld in fields:
        if fld.tag == "20":
            blocks.append([fld])
        elif blocks:
            blocks[-1].append(fld)
        else:
            leading.append(fld)
    return blocks, leading


def _set_once(block: Block, attr: str, fld: Field, what: str) -> None:
    """Set a statement-level field, rejecting a second occurrence."""
    existing = getattr(block, attr)
    if existing is not None:
        raise BankFileError(
            f"statement at line {block.reference.line_no}: second {what} {fld.describe()}"
            f" after {existing.describe()}; statements must be separated by :20:"
        )
    setattr(block, attr, fld)


def assemble_block(fields: list[Field]) -> Block:
    """Assign the fields of one ``:20:`` block to their roles.

    A ``:86:`` belongs to the preceding ``:61:``; a ``:86:`` after a balance (the statement-level
    information some banks append after ``:62F:``) or before any ``:61:`` is ignored.
    """
    block = Block(reference=fields[0])
    attach_details = False
    for fld in fields[1:]:
        base = fld.tag[:2]
        if fld.tag == "25":
            _set_once(block, "account", fld, "account identification")
        elif base == "28":
            _set_once(block, "number", fld, "statement number")
        elif fld.tag in OPENING_TAGS:
            _set_once(block, "opening", fld, "opening balance")
        elif fld.tag in CLOSING_TAGS:
            _set_once(block, "closing", fld, "closing balance")
        elif fld.tag == "61":
            if block.closing is not None:
                raise BankFileError(
                    f"statement at line {block.reference.line_no}: statement line"
                    f" {fld.describe()} after the closing balance {block.closing.describe()}"
                )
            block.entries.append(EntryFields(fld))
            attach_details = True
            continue
        elif fld.tag == "86":
            if attach_details:
                block.entries[-1].details.append(fld)
            continue
        elif base == "NS":
            continue  # bank-specific free text; does not end the entry
        elif base in _MT942_TAG_BASES:
            block.mt942_tags.append(fld)
        attach_details = False
    return block
