"""Decode MT940 bytes and clean the text: encoding, control characters, the SWIFT envelope, line breaks."""

from __future__ import annotations

import codecs
import re

_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_NAMES = {0x00: "NUL", 0x01: "SOH", 0x02: "STX", 0x03: "ETX", 0x1A: "SUB"}
_SWIFT_HEADER_BLOCK = re.compile(r"\{[1235]:(?:[^{}]|\{[^{}]*\})*\}")
_SWIFT_MESSAGE_TYPE = re.compile(r"\{2:[IO](\d{3})")
_LONE_COLON = re.compile(r"(?m)^:\n(?=(?:\d{2}[A-Z]?|NS[A-Z]?):)")


def decode_text(data: bytes) -> tuple[str, list[str]]:
    """Decode statement bytes: UTF-8 (BOM allowed), else cp1252, else latin-1.

    Returns:
        The text and the warnings about the encoding that had to be guessed.
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16"), []
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        where = f"byte 0x{data[exc.start]:02X} at offset {exc.start}"
    try:
        text, encoding = data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        text, encoding = data.decode("latin-1"), "latin-1"
    return text, [f"not valid UTF-8 ({where}); decoded as {encoding}, accents may be wrong"]


def _strip_control_chars(text: str) -> tuple[str, list[str]]:
    """Remove control characters other than tab and line breaks."""
    found = _CONTROL_CHARS.findall(text)
    if not found:
        return text, []
    names = sorted({_CONTROL_NAMES.get(ord(c), f"0x{ord(c):02X}") for c in found})
    warning = f"removed {len(found)} control character(s) ({', '.join(names)})"
    return _CONTROL_CHARS.sub("", text), [warning]


def _strip_swift_envelope(text: str) -> tuple[str, set[str]]:
    """Remove SWIFT FIN blocks 1, 2, 3 and 5 and the block 4 delimiters.

    Returns:
        The text with one statement message per ``-``-terminated section, and the message types
        named in block 2 headers (e.g. ``{"940"}``).
    """
    message_types = set(_SWIFT_MESSAGE_TYPE.findall(text))
    text = _SWIFT_HEADER_BLOCK.sub("\n", text)
    text = text.replace("{4:", "\n").replace("-}", "\n-\n")
    return text, message_types


def _normalize_newlines(text: str) -> str:
    """Use ``\\n`` line breaks and rejoin a tag whose leading colon sits on its own line."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _LONE_COLON.sub(":", text)


def clean_text(data: bytes) -> tuple[str, set[str], list[str]]:
    """Decode and clean raw MT940 bytes.

    Returns:
        The cleaned text, the SWIFT message types found in block 2 headers, and warnings.
    """
    text, warnings = decode_text(data)
    text, control_warnings = _strip_control_chars(text)
    text, message_types = _strip_swift_envelope(text)
    return _normalize_newlines(text), message_types, warnings + control_warnings
