"""Open an MT940/MT942 file as a :class:`~o2c.sources.bank.model.BankFileStream`."""

from __future__ import annotations

import itertools
from typing import BinaryIO

from o2c.sources.bank.model import BankFileError, BankFileStream
from o2c.sources.bank.mt940.fields import FieldReader, tokenize
from o2c.sources.bank.mt940.lines import LineReader
from o2c.sources.bank.mt940.notes import Notes
from o2c.sources.bank.mt940.statements import MT940, REPORT_KINDS, StatementReader


def open_mt(source: BinaryIO, name: str) -> BankFileStream:
    """Open a SWIFT MT940 (statements) or MT942 (interim reports) file for streaming.

    The file is read up to the head of its first report, which tells the format; the reports and their
    entries are then read as the caller consumes :attr:`BankFileStream.statements` (each report's entries,
    then its tail, before the next report). Balances and totals are exposed as stated, not checked against
    the entries (:mod:`o2c.sources.bank.parse` does that).

    Args:
        source: The file, binary and seekable, positioned at its start; the caller closes it.
        name: The file name, for error messages.

    Returns:
        The stream: ``format`` ``"mt940"`` or ``"mt942"``, ``version`` ``None``, ``report_kind``
        ``statement`` or ``intraday``; ``warnings`` grows while the file is read.

    Raises:
        BankFileError: When the file cannot be read unambiguously, here for its first report's head and
            later while the reports stream; ``reason`` says why and where. Nothing else is caught: any other
            exception is a defect of the parser and propagates, so that the ingest fails loudly and leaves
            the file in the inbox instead of quarantining it. An error of the first report's head names
            the file; later ones are named by :func:`o2c.sources.bank.parse.open_bank_stream`.
    """
    warnings: list[str] = []
    notes = Notes(warnings)
    reader = StatementReader(FieldReader(tokenize(LineReader(source, warnings).chunks())), notes)
    statements = reader.statements()
    try:
        first = next(statements)
    except BankFileError as exc:
        raise exc if exc.file_name else BankFileError(exc.reason, name) from exc
    fmt = reader.format or MT940
    return BankFileStream(fmt, None, REPORT_KINDS[fmt], itertools.chain((first,), statements), warnings)
