"""Streaming parser of ISO 20022 bank-to-customer cash management messages, all versions (.01-.14):

- camt.052 account reports (intraday): :data:`~o2c.sources.bank.model.REPORT_INTRADAY`;
- camt.053 statements: :data:`~o2c.sources.bank.model.REPORT_STATEMENT`;
- camt.054 debit/credit notifications: :data:`~o2c.sources.bank.model.REPORT_NOTIFICATION`.

:func:`open_camt` reads a file as a :class:`~o2c.sources.bank.model.BankFileStream` in flat memory.
Modules: :mod:`~o2c.sources.bank.camt.reader` (detection, iterparse streaming),
:mod:`~o2c.sources.bank.camt.reports` (``Stmt``/``Rpt``/``Ntfctn``: head, balances, totals),
:mod:`~o2c.sources.bank.camt.entries` (``Ntry``), :mod:`~o2c.sources.bank.camt.transactions`
(``TxDtls``), :mod:`~o2c.sources.bank.camt.amounts` (amount details, charges, exchange),
:mod:`~o2c.sources.bank.camt.values` and :mod:`~o2c.sources.bank.camt.elements` (namespace-agnostic
element access).
"""

from o2c.sources.bank.camt.reader import open_camt

__all__ = ["open_camt"]
