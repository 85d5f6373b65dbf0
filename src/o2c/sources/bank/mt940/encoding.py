"""Tell the text encoding of MT940/MT942 bytes: UTF-8, else Western (cp1252) or Central European (CP852).

SWIFT itself allows only a Latin subset, but banks' file exports carry the account holder's language:
German and Dutch banks write cp1252/ISO-8859-1 umlauts, Polish, Hungarian and Czech banks often the DOS
code page CP852. Valid UTF-8 is taken as UTF-8 (a cp1252 or CP852 text with accents is practically never
valid UTF-8). Otherwise both single-byte readings are scored by the letters they produce
(:func:`plausibility`): ``0xE4`` is ``ä`` in cp1252 and ``ń`` in CP852, ``0xA0`` is a no-break space in
cp1252 and ``á`` in CP852, ``0xDF`` is ``ß`` in cp1252 and a box-drawing block in CP852. A reading that
yields box-drawing characters, symbols or control characters between letters, or an upper-case letter
inside a lower-case word, scores low.
"""

from __future__ import annotations

import codecs
import re

UTF8 = "utf-8"
WESTERN = "cp1252"
CENTRAL_EUROPEAN = "cp852"
UTF16 = "utf-16"

DESCRIPTIONS = {
    WESTERN: "cp1252 (Western European, a superset of ISO-8859-1)",
    CENTRAL_EUROPEAN: "CP852 (Central European DOS code page)",
}

LATIN1_FALLBACK = "o2c-latin1-fallback"
"""Decoding error handler: a byte that cp1252 leaves undefined (``0x81``, ``0x8D``, ``0x8F``, ``0x90``,
``0x9D``) is read as in ISO-8859-1 (a C1 control character, removed later with the other controls)."""


def _latin1_fallback(exc: UnicodeError) -> tuple[str, int]:
    """Replace undecodable bytes by their ISO-8859-1 characters."""
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return exc.object[exc.start : exc.end].decode("latin-1"), exc.end


codecs.register_error(LATIN1_FALLBACK, _latin1_fallback)

_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_COMMON_LETTERS = {
    WESTERN: frozenset("äöüßÄÖÜéèêëàâçîïôûùÿñáíóúÉÈÀÇÑåøæÅØÆœŒ"),
    CENTRAL_EUROPEAN: frozenset("ąćęłńóśźżĄĆĘŁŃÓŚŹŻáéíóöőúüűÁÉÍÓÖŐÚÜŰčďěňřšťůýžČĎĚŇŘŠŤŮÝŽĺľŕĹĽŔăâîşţĂÂÎŞŢđĐ"),
}
"""Accented letters frequent in the languages each code page serves."""
_NEUTRAL_SYMBOLS = frozenset("€§°")
"""Symbols that occur in statements (currency, paragraph, degree) and say nothing about the encoding."""


def plausibility(text: str, encoding: str) -> int:
    """Score how plausible the non-ASCII characters of ``text`` are as text in ``encoding``.

    A common accented letter of the code page's languages scores 2, another letter 1, provided its case
    fits its neighbours (no capital after a letter when a lower-case letter follows, no small letter
    between two capitals), else 0; a symbol, box-drawing or control character scores -2.
    """
    common = _COMMON_LETTERS[encoding]
    score = 0
    last = len(text) - 1
    for match in _NON_ASCII.finditer(text):
        char = match.group()
        if not char.isalpha():
            score += 0 if char in _NEUTRAL_SYMBOLS else -2
            continue
        at = match.start()
        before = text[at - 1] if at else " "
        after = text[at + 1] if at < last else " "
        if char.isupper():
            fits = not (before.isalpha() and after.islower())
        else:
            fits = not (before.isupper() and after.isupper())
        if fits:
            score += 2 if char in common else 1
    return score


def single_byte_encoding(data: bytes) -> str:
    """Choose between cp1252 and CP852 for bytes that are not UTF-8: the more plausible reading wins,
    cp1252 on a tie."""
    western = plausibility(data.decode(WESTERN, LATIN1_FALLBACK), WESTERN)
    central = plausibility(data.decode(CENTRAL_EUROPEAN), CENTRAL_EUROPEAN)
    return CENTRAL_EUROPEAN if central > western else WESTERN


def utf8_error(data: bytes, final: bool) -> UnicodeDecodeError | None:
    """The first UTF-8 decoding error in ``data``, or ``None``; an incomplete character at the end is only
    an error when ``final``."""
    try:
        codecs.getincrementaldecoder(UTF8)().decode(data, final=final)
    except UnicodeDecodeError as exc:
        return exc
    return None


def has_utf16_bom(data: bytes) -> bool:
    """Whether ``data`` starts with a UTF-16 byte order mark."""
    return data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
