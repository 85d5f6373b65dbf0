"""Read SWIFT MT940 customer statements and MT942 interim transaction reports, streaming.

:func:`open_mt` reads a file as a :class:`~o2c.sources.bank.model.BankFileStream`: line by line, a
megabyte at a time, so memory stays flat however large the file, and each ``:61:`` entry is built when it
has been read. One job per module:

* :mod:`~o2c.sources.bank.mt940.encoding` and :mod:`~o2c.sources.bank.mt940.lines`: decoding (UTF-8, else
  cp1252 or CP852, chosen by the letters each gives), removal of control characters (SOH/ETX/SUB around
  SWIFT messages, NUL) and of the SWIFT envelope blocks ``{1:}{2:}{3:}{4: ... -}{5:}``, line breaks;
* :mod:`~o2c.sources.bank.mt940.fields`: the tokenizer: tag fields with their line numbers; bank header
  lines (``ABNANL2A``, ``0000 01INGBNL2AXXXX00001``, ``:940:``) and text after ``-`` are skipped, a tag
  whose colon sits alone on the line before is rejoined;
* :mod:`~o2c.sources.bank.mt940.money`: strict amounts and dates (30 February is an error), balances,
  ``:28C:``, ``:13D:``, ``:34F:``, ``:90C:``/``:90D:``;
* :mod:`~o2c.sources.bank.mt940.statement_line`: the ``:61:`` line (marks ``C``/``D``/``RC``/``RD`` and
  the funds code, references);
* :mod:`~o2c.sources.bank.mt940.details`: the ``:86:`` details (German ``?NN`` sub-fields, Dutch
  ``/KEY/`` structured details, ABN AMRO labels, SEPA keys, free text);
* :mod:`~o2c.sources.bank.mt940.entries`: a :class:`~o2c.sources.bank.model.BankEntry` and its one
  :class:`~o2c.sources.bank.model.BankTransaction`;
* :mod:`~o2c.sources.bank.mt940.statements`: the ``:20:`` blocks as reports, MT940 or MT942;
* :mod:`~o2c.sources.bank.mt940.stream`: :func:`open_mt`.

The parser is its own: the maintained ``mt-940`` library parses a whole text held in memory and reads
about 10,000 entries per second, so it serves as an independent reference in the tests
(``tests/unit/test_mt940_parser.py``), where every real sample it can read must give the same amounts,
dates and marks (see DECISIONLOG.md, "Bank files").
"""

from __future__ import annotations

from o2c.sources.bank.mt940.statements import MT940, MT942
from o2c.sources.bank.mt940.stream import open_mt

__all__ = ["MT940", "MT942", "open_mt"]
