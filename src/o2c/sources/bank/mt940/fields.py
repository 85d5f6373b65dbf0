"""Split MT940/MT942 text into tag fields, streaming.

A field starts at a line ``:TAG:`` whose tag is one of MT940/MT942 (``:12:`` or ``:26:`` at the start of a
wrapped ``:86:`` line is text); lines that are no tag continue the current field. A line holding only
``-`` ends a SWIFT message: text after it up to the next tag (bank header lines such as ``ABNANL2A``,
``0000 01INGBNL2AXXXX00001``, ``940 00`` or ``:940:``) is skipped, as is text before the first tag. Empty
lines are dropped. A tag whose leading colon sits alone on the line before (``:`` / ``61:...``) is
rejoined. Lines that carry the SWIFT FIN envelope (``{1:..}{2:..}{3:..}{4:`` before a message,
``-}{5:..}`` after it) are split: each header block is skipped, ``{4:`` disappears and ``-}`` is the ``-``
that ends a message; the message type of a block 2 header (``{2:I942...}``) becomes a field of its own,
:data:`MESSAGE_TYPE`, which applies to the message that follows.
"""

from __future__ import annotations

import itertools
import re
from collections import deque
from collections.abc import Iterable, Iterator

from o2c.sources.bank.mt940.lines import Chunk

_TAG_LINE = re.compile(r":(\d\d[A-Z]?|NS[A-Z]?):(.*)", re.DOTALL)
_TAG_START = re.compile(r"(?:\d\d[A-Z]?|NS[A-Z]?):")
_KNOWN_TAG_BASES = frozenset(
    {"13", "20", "21", "25", "28", "34", "60", "61", "62", "64", "65", "86", "90", "NS"}
)
_FIELD_START = re.compile(r"^:((?:13|20|21|25|28|34|60|61|62|64|65|86|90)[A-Z]?|NS[A-Z]?):", re.MULTILINE)
_IRREGULAR_LINE = re.compile(r"\n[^\S\n]*(?:-[^\S\n]*)?\n")
"""A line that is empty, blank or a lone ``-`` after another line: continuation lines are filtered only
where there is one."""
_ENVELOPE_BLOCK = re.compile(r"\{[1-5]:")
_ENVELOPE_LINE = re.compile(r"\{[1-5]:|-\}")
_ENVELOPE_PARTS = re.compile(r"(\{[1235]:(?:[^{}]|\{[^{}]*\})*\}|\{4:|-\})")
_MESSAGE_TYPE = re.compile(r"\{2:[IO](\d{3})")

MESSAGE_TYPE = "{2:}"
"""Tag of the pseudo-field holding the message type of a SWIFT header (its only line, e.g. ``942``)."""


class Field:
    """One tag with its value lines and the line number where it starts."""

    __slots__ = ("line_no", "lines", "tag")

    def __init__(self, tag: str, lines: list[str], line_no: int) -> None:
        self.tag = tag
        self.lines = lines
        self.line_no = line_no

    @property
    def first(self) -> str:
        """The first value line (the one holding the tag)."""
        return self.lines[0]

    def describe(self) -> str:
        """``:TAG: (line N)`` for messages."""
        return f":{self.tag}: (line {self.line_no})"

    def __repr__(self) -> str:
        return f"Field({self.tag!r}, {self.lines!r}, {self.line_no})"


def tokenize(chunks: Iterable[Chunk]) -> Iterator[Field]:
    """The fields of the text, in file order (see the module docstring).

    A chunk without SWIFT envelope and lone colons is split at its tag lines by one regular expression
    (:func:`_fast_fields`); others are read line by line (:class:`_LineTokenizer`).
    """
    state = _LineTokenizer()
    for text, first in chunks:
        if state.colon_at is None and "{" not in text and "-}" not in text and not _has_lone_colon(text):
            yield from _fast_fields(state, text, first)
        else:
            yield from state.feed(*_envelope_lines(text, first))
    yield from state.finish()


def _has_lone_colon(text: str) -> bool:
    return "\n:\n" in text or text.startswith(":\n")


def _fast_fields(state: _LineTokenizer, text: str, first: int) -> Iterator[Field]:
    """The fields of a chunk, split at its tag lines by one regular expression; the last one stays open
    (it may go on in the next chunk)."""
    parts = _FIELD_START.split(text)
    # [text before the first tag, tag, rest of its line and its continuation lines, tag, ...]; every line
    # ends with '\n'
    irregular = _IRREGULAR_LINE.search(text) is not None
    prefix = parts[0]
    if prefix:
        if state.current is not None:
            closed = _continue(state, prefix[:-1].split("\n"))
            if closed is not None:
                yield closed
        number = first + prefix.count("\n")
    else:
        number = first
    for index in range(1, len(parts), 2):
        if state.current is not None:
            yield state.current
        lines = parts[index + 1].split("\n")
        lines.pop()
        state.current = Field(parts[index], lines, number)
        number += len(lines)
        if irregular and len(lines) > 1 and _IRREGULAR_LINE.search(parts[index + 1], len(lines[0])):
            state.current.lines = [lines[0]]
            closed = _continue(state, lines[1:])
            if closed is not None:
                yield closed


def _continue(state: _LineTokenizer, lines: list[str]) -> Field | None:
    """Add continuation lines to the open field; blank lines are dropped and a line ``-`` closes the field
    (what follows up to the next tag is skipped).

    Returns:
        The field, when a ``-`` closed it.
    """
    current = state.current
    if current is None:
        return None
    for line in lines:
        stripped = line.strip()
        if stripped == "-":
            state.current = None
            return current
        if stripped:
            current.lines.append(line)
    return None


def _envelope_lines(text: str, first: int) -> tuple[list[str], list[int]]:
    """The lines of a chunk with each SWIFT header block on a line of its own, ``{4:`` dropped and ``-}``
    turned into the ``-`` that ends a message, and their line numbers."""
    lines: list[str] = []
    numbers: list[int] = []
    for number, line in enumerate(text[:-1].split("\n"), start=first):
        if not _ENVELOPE_LINE.search(line):
            lines.append(line)
            numbers.append(number)
            continue
        for part in _ENVELOPE_PARTS.split(line):
            if part == "-}":
                part = "-"
            elif part == "{4:" or not part.strip():
                continue
            lines.append(part)
            numbers.append(number)
    return lines, numbers


class _LineTokenizer:
    """The tokenizer's state between chunks, and its line-by-line reading."""

    def __init__(self) -> None:
        self.current: Field | None = None
        """The open field (lines may still be added)."""
        self.colon_at: int | None = None
        """The line number of a lone ``:`` waiting for its tag."""

    def feed(self, lines: list[str], numbers: list[int]) -> Iterator[Field]:
        """Read lines one by one."""
        for line, number in zip(lines, numbers, strict=True):
            if self.colon_at is not None:
                if _TAG_START.match(line):
                    line = ":" + line
                    number = self.colon_at
                elif self.current is not None:
                    self.current.lines.append(":")
                self.colon_at = None
            if line[:1] == ":":
                match = _TAG_LINE.match(line)
                if match is not None and match.group(1)[:2] in _KNOWN_TAG_BASES:
                    if self.current is not None:
                        yield self.current
                    self.current = Field(match.group(1), [match.group(2)], number)
                    continue
                if line == ":":
                    self.colon_at = number
                    continue
            elif line[:1] == "{" and _ENVELOPE_BLOCK.match(line):
                if self.current is not None:
                    yield self.current
                    self.current = None
                message_type = _MESSAGE_TYPE.match(line)
                if message_type is not None:
                    yield Field(MESSAGE_TYPE, [message_type.group(1)], number)
                continue
            stripped = line.strip()
            if not stripped:
                continue
            if stripped == "-":
                if self.current is not None:
                    yield self.current
                self.current = None
            elif self.current is not None:
                self.current.lines.append(line)

    def finish(self) -> Iterator[Field]:
        """The last field."""
        if self.colon_at is not None and self.current is not None:
            self.current.lines.append(":")
        if self.current is not None:
            yield self.current


class FieldReader:
    """Fields read one at a time, with push-back (to stop at the next statement, or to replay the fields
    read ahead for a statement whose head lacks its currency)."""

    def __init__(self, fields: Iterator[Field]) -> None:
        self._fields = fields
        self._back: deque[Field] = deque()

    def next(self) -> Field | None:
        """The next field, or ``None`` at the end of the file."""
        if self._back:
            return self._back.popleft()
        return next(self._fields, None)

    def push(self, *fields: Field) -> None:
        """Put fields back, to be read again in the given order before any other."""
        self._back.extendleft(reversed(fields))

    def rest(self) -> Iterator[Field]:
        """The fields from here on, for a loop that stops with :meth:`push` (faster than :meth:`next`;
        abandoning it leaves the file where the loop stopped)."""
        back = list(self._back)
        self._back.clear()
        return itertools.chain(back, self._fields)
