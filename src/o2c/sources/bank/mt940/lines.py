"""Read MT940/MT942 bytes as text, a megabyte of whole lines at a time: decoding, control characters and
line breaks.

Memory stays flat in the file size: bytes are read in blocks that end at a line break and decoded block by
block (a file with a UTF-16 byte order mark: through a UTF-16 text reader). The encoding is decided from
the first megabyte (:mod:`o2c.sources.bank.mt940.encoding`); when UTF-8 fails further on, the lines from
the failing one onward are read in the single-byte encoding the next megabyte suggests (the lines before
it were valid UTF-8, so they stand), with a warning.

Control characters other than tab and line breaks (SOH/ETX/SUB around SWIFT messages, NUL, C1 controls)
are removed, with one warning for the file; line breaks become ``\\n``.
"""

from __future__ import annotations

import collections
import io
import re
from collections.abc import Generator, Iterator
from typing import BinaryIO

from o2c.sources.bank.mt940.encoding import (
    DESCRIPTIONS,
    LATIN1_FALLBACK,
    UTF8,
    UTF16,
    has_utf16_bom,
    single_byte_encoding,
    utf8_error,
)

BLOCK_BYTES = 1 << 20
"""Bytes read at a time; also the prefix the encoding is decided from."""

_CONTROL_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_CONTROL_NAMES = {0x00: "NUL", 0x01: "SOH", 0x02: "STX", 0x03: "ETX", 0x1A: "SUB"}

Chunk = tuple[str, int]
"""Whole lines read together (each ending with ``\\n``), and the number of the first."""


class LineReader:
    """The lines of a binary MT940/MT942 file, read in chunks (see the module docstring).

    Attributes:
        warnings: Receives the encoding warning when the file is read and the control-character warning
            when it is exhausted.
    """

    def __init__(self, source: BinaryIO, warnings: list[str]) -> None:
        self._source = source
        self.warnings = warnings
        self._controls: collections.Counter[str] = collections.Counter()

    def chunks(self) -> Iterator[Chunk]:
        """The file's text, a megabyte of whole lines at a time, cleaned, each line ending with ``\\n``."""
        start = self._source.tell()
        head = self._source.read(BLOCK_BYTES)
        self._source.seek(start)
        texts = self._utf16_texts() if has_utf16_bom(head) else self._byte_texts(head)
        number = 1
        first = True
        for text in texts:
            if first:
                text = text.removeprefix("\ufeff")
                first = False
            if _CONTROL_CHARS.search(text):
                text = self._strip_controls(text)
            if "\r" in text:
                text = text.replace("\r\n", "\n").replace("\r", "\n")
            if not text.endswith("\n"):
                text += "\n"
            yield text, number
            number += text.count("\n")
        if self._controls:
            names = ", ".join(sorted(self._controls))
            total = sum(self._controls.values())
            self.warnings.append(f"removed {total} control character(s) ({names})")

    def _strip_controls(self, text: str) -> str:
        """Remove control characters, counting them by name."""
        for char in _CONTROL_CHARS.findall(text):
            self._controls[_CONTROL_NAMES.get(ord(char), f"0x{ord(char):02X}")] += 1
        return _CONTROL_CHARS.sub("", text)

    def _blocks(self) -> Iterator[bytes]:
        """The bytes in blocks that end at a line break (the last one: at the end of the file)."""
        pending = b""
        while True:
            data = self._source.read(BLOCK_BYTES)
            if not data:
                if pending:
                    yield pending
                return
            buffer = pending + data if pending else data
            # a CR as the very last byte may be the first half of a CRLF: keep it for the next block
            cut = max(buffer.rfind(b"\n"), buffer.rfind(b"\r", 0, len(buffer) - 1)) + 1
            if cut:
                yield buffer[:cut]
            pending = buffer[cut:]

    def _byte_texts(self, head: bytes) -> Iterator[str]:
        """Decode the blocks: UTF-8 when the first megabyte is UTF-8, else cp1252 or CP852."""
        encoding = UTF8
        if not head.isascii():
            error = utf8_error(head, final=len(head) < BLOCK_BYTES)
            if error is not None:
                encoding = single_byte_encoding(head)
                self.warnings.append(
                    f"not valid UTF-8 (byte 0x{head[error.start]:02X} at offset {error.start});"
                    f" decoded as {DESCRIPTIONS[encoding]}, whose reading of the accented letters is the"
                    " more plausible; accents may still be wrong"
                )
        offset = 0
        lines = 0
        for block in self._blocks():
            if encoding != UTF8:
                yield block.decode(encoding, LATIN1_FALLBACK)
            else:
                try:
                    yield block.decode(UTF8)
                except UnicodeDecodeError as exc:
                    encoding = yield from self._switch(block, exc, offset, lines)
            offset += len(block)
            lines += block.count(b"\n") or block.count(b"\r")

    def _switch(
        self, block: bytes, exc: UnicodeDecodeError, offset: int, lines: int
    ) -> Generator[str, None, str]:
        """Decode a block whose UTF-8 fails: up to the failing line as UTF-8, from there on as the
        single-byte encoding the rest of the block and the next megabyte suggest.

        Returns:
            The encoding for the rest of the file.
        """
        cut = max(block.rfind(b"\n", 0, exc.start), block.rfind(b"\r", 0, exc.start)) + 1
        if cut:
            yield block[:cut].decode(UTF8)
        position = self._source.tell()
        encoding = single_byte_encoding(block[cut:] + self._source.read(BLOCK_BYTES))
        self._source.seek(position)
        line = lines + (block.count(b"\n", 0, cut) or block.count(b"\r", 0, cut)) + 1
        self.warnings.append(
            f"not valid UTF-8 from line {line} on (byte 0x{block[exc.start]:02X} at offset"
            f" {offset + exc.start}); read from that line on as {DESCRIPTIONS[encoding]}, whose reading"
            " of the accented letters is the more plausible; accents may still be wrong"
        )
        yield block[cut:].decode(encoding, LATIN1_FALLBACK)
        return encoding

    def _utf16_texts(self) -> Iterator[str]:
        """Decode a UTF-16 file (byte order mark) in chunks that end at a line break."""
        wrapper = io.TextIOWrapper(self._source, encoding=UTF16, errors="replace", newline="")
        try:
            pending = ""
            while True:
                data = wrapper.read(BLOCK_BYTES)
                if not data:
                    if pending:
                        yield pending
                    return
                buffer = pending + data
                cut = max(buffer.rfind("\n"), buffer.rfind("\r", 0, len(buffer) - 1)) + 1
                if cut:
                    yield buffer[:cut]
                pending = buffer[cut:]
        finally:
            wrapper.detach()  # the caller owns the file
