"""Abnormal-order alerts: one bilingual (EN/ZH) digest per sales rep, and one for the finance team, per run.

- :mod:`o2c.alerts.digest` — pure: which exceptions go to whom (a rule's owner: the customer's rep, or
  finance), what is new or escalated, and the rendered text/HTML.
- :mod:`o2c.alerts.outbox` — the RFC 5322 message and its ``.eml`` copy in the outbox folder.
- :mod:`o2c.alerts.smtp` — delivery over SMTP with retries of transient failures.
- :mod:`o2c.alerts.dispatch` — the warehouse side: read exceptions, log every send in ``ops.alert_log``.
"""

from o2c.alerts.digest import (
    Digest,
    DigestItem,
    OrderException,
    Recipient,
    SalesRep,
    build_digests,
    render,
)
from o2c.alerts.dispatch import AlertDispatchError, send_alerts
from o2c.alerts.smtp import AlertSendError

__all__ = [
    "AlertDispatchError",
    "AlertSendError",
    "Digest",
    "DigestItem",
    "OrderException",
    "Recipient",
    "SalesRep",
    "build_digests",
    "render",
    "send_alerts",
]
