"""Parse SWIFT MT940 customer statement files into the normalized bank model.

The field-level parsing of ``:61:`` references and ``:86:`` details is done by the maintained ``mt-940``
library (import name ``mt940``). Around it this package adds what real files need, one job per module:

* :mod:`~o2c.sources.bank.mt940.text`: robust decoding (UTF-8, else cp1252/latin-1 with a warning),
  removal of control characters (SOH/ETX/SUB around SWIFT messages) and of the SWIFT envelope blocks
  ``{1:}{2:}{3:}{4: ... -}{5:}``;
* :mod:`~o2c.sources.bank.mt940.fields`: its own tokenizer, which splits the file into statements at every
  ``:20:``, drops bank header lines (``ABNANL2A``, ``0000 01INGBNL2AXXXX00001``, ``:940:``) and
  statement-level ``:86:`` lines that follow the closing balance (ING, Zenith), and keeps line numbers
  for error messages;
* :mod:`~o2c.sources.bank.mt940.money`: strict checks of the money fields: the debit/credit mark, amount
  and dates of every ``:61:`` and balance are matched with a strict pattern, and invalid dates
  (30 February) are errors rather than being "fixed";
* :mod:`~o2c.sources.bank.mt940.library`: the library, configured; its reading of mark and amount must
  agree with the strict one;
* :mod:`~o2c.sources.bank.mt940.details`: ``:86:`` details, counterparty and references;
* :mod:`~o2c.sources.bank.mt940.statements`: entries and statements of the normalized model;
* :mod:`~o2c.sources.bank.mt940.parser`: the file: MT942 rejection and :func:`parse_mt940`.

Debit/credit marks follow the SWIFT standard: ``C`` credit, ``D`` debit, ``RC`` reversal of a
credit (a debit on the account), ``RD`` reversal of a debit (a credit on the account). The letter
after the mark is the optional funds code (third letter of the currency code), so ``DR`` is a debit
with funds code ``R``, not a reversal; the mark is always matched before the funds code.

Each ``:20:`` block is one :class:`~o2c.sources.bank.model.BankStatement`; the pages of a multi-page
statement (``:60M:``/``:62M:`` intermediate balances, ``:28C: 999/1``, ``999/2``) are separate statements
whose balances must each add up.
"""

from __future__ import annotations

from o2c.sources.bank.mt940.parser import FORMAT, parse_mt940

__all__ = ["FORMAT", "parse_mt940"]
