"""Build and render the abnormal-order digests (pure functions: no I/O, no wall clock).

Who gets what follows the rule's owner (``owner`` in ``expectations/rules.yml``, ``rule_owner`` in the
exceptions mart): an exception of a ``sales_rep`` rule goes to the rep who owns the customer
(``owner_rep_id``); one of a ``finance`` rule (unapplied cash, bank statement breaks: no customer, no rep)
goes to the finance team's digest, never to a rep. A recipient gets one digest per as-of business date,
listing their open exceptions seen on that date. The digest exists only when at least one of them was never
alerted to the recipient before ("new") or is more severe than when it was ("escalated", e.g. a receivable
past the escalation threshold); new items come first, then escalated ones, then the ones still open from
earlier alerts. Within each part items are grouped by rule, the rule with the most severe item first. Every
digest is rendered in English and Chinese in one message, the recipient's preferred language first (English
for the finance team). Terms follow the glossary in DESIGN.md section 7.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from o2c.checks.rules import FINANCE, SALES_REP

SEVERITY_RANK = {"high": 0, "medium": 1, "low": 2}
"""Sort rank of each severity (most severe first); unknown severities sort last."""

SEVERITY_LABEL = {
    "EN": {"high": "high", "medium": "medium", "low": "low"},
    "ZH": {"high": "高", "medium": "中", "low": "低"},
}

NO_OWNER = "(no owner)"

FINANCE_RECIPIENT_ID = "team:finance"
"""The finance team's recipient id: its alert key is ``<as_of_date>:team:finance`` (a rep's id is a PERNR:
digits only, never this)."""

AlertedKey = tuple[str, str, str]
"""``(recipient_id, rule_id, entity_key)``: one exception once alerted to one recipient (a rep's id, or
:data:`FINANCE_RECIPIENT_ID`)."""

AlreadyAlerted = AbstractSet[AlertedKey] | Mapping[AlertedKey, str]
"""The exceptions alerted before: a set, or a mapping to the most severe severity they were alerted with
(only the mapping lets an escalation be recognised)."""


# -- input records ----------------------------------------------------------------------------------------
def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _optional_text(value: Any) -> str | None:
    return None if value is None or str(value) == "" else str(value)


def _as_date(value: Any) -> date:
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _as_decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"measure {value!r} is not a number") from exc


@dataclass(frozen=True)
class OrderException:
    """One row of ``marts.fct_order_exceptions``."""

    exception_id: str
    rule_id: str
    rule_name_en: str
    rule_name_zh: str
    severity: str
    entity_key: str
    order_id: str | None
    invoice_id: str | None
    customer_id: str
    customer_name: str
    customer_name_zh: str
    owner_rep_id: str
    first_seen_date: date
    last_seen_date: date
    status: str
    measure: Decimal | None
    measure_unit: str | None
    detail_en: str
    detail_zh: str
    rule_owner: str = SALES_REP
    """Whose digest it goes to: ``sales_rep`` (``owner_rep_id``) or ``finance``."""

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> OrderException:
        """Build from a mapping of column name to value (e.g. a ``dict_row`` of the mart)."""
        return cls(
            exception_id=_text(row["exception_id"]),
            rule_id=_text(row["rule_id"]),
            rule_name_en=_text(row.get("rule_name_en")) or _text(row["rule_id"]),
            rule_name_zh=_text(row.get("rule_name_zh"))
            or _text(row.get("rule_name_en"))
            or _text(row["rule_id"]),
            severity=_text(row.get("severity")).lower(),
            entity_key=_text(row["entity_key"]),
            order_id=_optional_text(row.get("order_id")),
            invoice_id=_optional_text(row.get("invoice_id")),
            customer_id=_text(row.get("customer_id")),
            customer_name=_text(row.get("customer_name")),
            customer_name_zh=_text(row.get("customer_name_zh")),
            owner_rep_id=_text(row.get("owner_rep_id")),
            first_seen_date=_as_date(row["first_seen_date"]),
            last_seen_date=_as_date(row["last_seen_date"]),
            status=_text(row.get("status")).lower(),
            measure=_as_decimal(row.get("measure")),
            measure_unit=_optional_text(row.get("measure_unit")),
            detail_en=_text(row.get("detail_en")),
            detail_zh=_text(row.get("detail_zh")),
            rule_owner=_text(row.get("rule_owner")).strip().lower() or SALES_REP,
        )


@dataclass(frozen=True)
class SalesRep:
    """One row of ``marts.dim_sales_reps``."""

    sales_rep_id: str
    rep_name: str
    rep_name_zh: str
    email: str
    preferred_language: str = "EN"

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> SalesRep:
        """Build from a mapping of column name to value; an unknown language falls back to English."""
        language = _text(row.get("preferred_language")).strip().upper()
        return cls(
            sales_rep_id=_text(row["sales_rep_id"]),
            rep_name=_text(row.get("rep_name")),
            rep_name_zh=_text(row.get("rep_name_zh")),
            email=_text(row.get("email")).strip(),
            preferred_language=language if language in ("EN", "ZH") else "EN",
        )


@dataclass(frozen=True)
class Recipient:
    """Who receives one digest: a sales rep, or the finance team (the exceptions of the rules it owns)."""

    recipient_id: str
    """The rep's id, or :data:`FINANCE_RECIPIENT_ID`; part of the alert key and of the outbox file's name."""
    name: str
    name_zh: str
    addresses: tuple[tuple[str, str], ...]
    """``(display name, e-mail address)`` pairs. The finance team's may be empty (``O2C_FINANCE_EMAIL`` not
    set): its digest then goes to the outbox only."""
    preferred_language: str = "EN"
    audience: str = SALES_REP
    """``sales_rep`` or ``finance``: the digest's wording follows it."""

    @classmethod
    def for_rep(cls, rep: SalesRep) -> Recipient:
        return cls(
            recipient_id=rep.sales_rep_id,
            name=rep.rep_name,
            name_zh=rep.rep_name_zh,
            addresses=((rep.rep_name, rep.email),),
            preferred_language=rep.preferred_language,
            audience=SALES_REP,
        )

    @classmethod
    def finance_team(cls, addresses: Iterable[tuple[str, str]] = ()) -> Recipient:
        """The finance team, e-mailed at ``addresses`` (``(display name, address)``; none: outbox only)."""
        return cls(
            recipient_id=FINANCE_RECIPIENT_ID,
            name="Finance team",
            name_zh="财务团队",
            addresses=tuple(addresses),
            preferred_language="EN",
            audience=FINANCE,
        )

    @property
    def emails(self) -> tuple[str, ...]:
        """The bare e-mail addresses."""
        return tuple(address for _, address in self.addresses)


@dataclass(frozen=True)
class DigestItem:
    """One exception in a digest.

    ``is_new`` when it was never alerted to this recipient before; ``escalated_from`` is the most severe
    severity it was alerted with before when it is more severe now (it is then alerted again).
    """

    exception: OrderException
    is_new: bool
    escalated_from: str | None = None

    @property
    def is_escalated(self) -> bool:
        return self.escalated_from is not None


@dataclass(frozen=True)
class Digest:
    """What one recipient receives for one as-of date.

    ``new_count`` counts the items never alerted before, ``escalated_count`` those alerted before at a
    lower severity; ``open_count`` counts all open items listed (new and escalated ones included).
    """

    recipient: Recipient
    as_of_date: date
    items: tuple[DigestItem, ...]
    new_count: int
    open_count: int
    escalated_count: int = 0

    @property
    def audience(self) -> str:
        return self.recipient.audience

    @property
    def rule_ids(self) -> list[str]:
        """The distinct rules in this digest, sorted."""
        return sorted({item.exception.rule_id for item in self.items})


# -- building ---------------------------------------------------------------------------------------------
def _coerce_exceptions(rows: Iterable[OrderException | Mapping[str, Any]]) -> list[OrderException]:
    return [r if isinstance(r, OrderException) else OrderException.from_row(r) for r in rows]


def _coerce_reps(rows: Iterable[SalesRep | Mapping[str, Any]]) -> dict[str, SalesRep]:
    reps = [r if isinstance(r, SalesRep) else SalesRep.from_row(r) for r in rows]
    return {rep.sales_rep_id: rep for rep in sorted(reps, key=lambda r: (r.sales_rep_id, r.email))}


def in_digest(exc: OrderException, as_of: date) -> bool:
    """Whether an exception belongs in a digest for ``as_of``: open, seen on that date, and with somebody
    to go to (a finance rule's, or a sales-rep rule's with an owning rep)."""
    if exc.status != "open" or exc.last_seen_date != as_of:
        return False
    return exc.rule_owner == FINANCE or (exc.rule_owner == SALES_REP and bool(exc.owner_rep_id))


def _severity_rank(severity: str) -> int:
    return SEVERITY_RANK.get(severity, len(SEVERITY_RANK))


def _item_key(exc: OrderException) -> tuple[Any, ...]:
    measure = -exc.measure if exc.measure is not None else Decimal(0)
    return (
        _severity_rank(exc.severity),
        exc.measure is None,
        measure,
        exc.first_seen_date,
        exc.entity_key,
        exc.exception_id,
    )


def order_items(exceptions: Iterable[OrderException]) -> list[OrderException]:
    """Group by rule, the rule with the most severe item first (ties: rule id); within a rule, most severe
    first, then the largest measure, the oldest first-seen date, the entity key and the exception id."""
    by_rule: dict[str, list[OrderException]] = {}
    for exc in exceptions:
        by_rule.setdefault(exc.rule_id, []).append(exc)
    groups = [sorted(group, key=_item_key) for group in by_rule.values()]
    groups.sort(key=lambda group: (_severity_rank(group[0].severity), group[0].rule_id))
    return [exc for group in groups for exc in group]


def escalated_from(exc: OrderException, recipient_id: str, already_alerted: AlreadyAlerted) -> str | None:
    """The severity an exception was alerted with before, when it is more severe now; else ``None``."""
    if not isinstance(already_alerted, Mapping):
        return None
    before = already_alerted.get((recipient_id, exc.rule_id, exc.entity_key))
    if before is None or _severity_rank(exc.severity) >= _severity_rank(before):
        return None
    return before


def _digest_for(
    recipient: Recipient, exceptions: list[OrderException], already_alerted: AlreadyAlerted, as_of: date
) -> Digest | None:
    def key(e: OrderException) -> AlertedKey:
        return (recipient.recipient_id, e.rule_id, e.entity_key)

    new = order_items(e for e in exceptions if key(e) not in already_alerted)
    before = [e for e in exceptions if key(e) in already_alerted]
    escalated = order_items(e for e in before if escalated_from(e, recipient.recipient_id, already_alerted))
    if not new and not escalated:
        return None
    escalated_ids = {e.exception_id for e in escalated}
    still_open = order_items(e for e in before if e.exception_id not in escalated_ids)
    items = (
        tuple(DigestItem(e, True) for e in new)
        + tuple(
            DigestItem(e, False, escalated_from(e, recipient.recipient_id, already_alerted))
            for e in escalated
        )
        + tuple(DigestItem(e, False) for e in still_open)
    )
    return Digest(
        recipient=recipient,
        as_of_date=as_of,
        items=items,
        new_count=len(new),
        open_count=len(items),
        escalated_count=len(escalated),
    )


def _recipient_of(
    exc: OrderException, rep_by_id: Mapping[str, SalesRep], finance: Recipient
) -> Recipient | None:
    if exc.rule_owner == FINANCE:
        return finance
    if exc.rule_owner == SALES_REP and exc.owner_rep_id in rep_by_id:
        return Recipient.for_rep(rep_by_id[exc.owner_rep_id])
    return None


def build_digests(
    exceptions: Iterable[OrderException | Mapping[str, Any]],
    reps: Iterable[SalesRep | Mapping[str, Any]],
    already_alerted: AlreadyAlerted,
    as_of: date,
    *,
    finance: Recipient | None = None,
) -> list[Digest]:
    """One digest per recipient with at least one new or escalated open exception last seen on ``as_of``.

    A ``sales_rep`` rule's exception goes to its owning rep; a ``finance`` rule's to ``finance`` (by default
    the finance team without addresses: its digest is built all the same, for the outbox), never to a rep.
    ``already_alerted`` holds the ``(recipient_id, rule_id, entity_key)`` triples already alerted by other
    runs, mapped to the most severe severity they were alerted with (a plain set: escalations are not
    recognised). Exceptions owned by a rep missing from ``reps`` are left out (see
    :func:`unroutable_rep_ids`). The reps' digests come first, sorted by rep id, then the finance team's;
    the result depends only on the arguments.
    """
    rep_by_id = _coerce_reps(reps)
    team = finance or Recipient.finance_team()
    grouped: dict[str, tuple[Recipient, list[OrderException]]] = {}
    for exc in _coerce_exceptions(exceptions):
        recipient = _recipient_of(exc, rep_by_id, team) if in_digest(exc, as_of) else None
        if recipient is not None:
            grouped.setdefault(recipient.recipient_id, (recipient, []))[1].append(exc)
    digests = (_digest_for(recipient, excs, already_alerted, as_of) for recipient, excs in grouped.values())
    return sorted(
        (d for d in digests if d is not None),
        key=lambda d: (d.audience != SALES_REP, d.recipient.recipient_id),
    )


def unroutable_rep_ids(
    exceptions: Iterable[OrderException | Mapping[str, Any]],
    reps: Iterable[SalesRep | Mapping[str, Any]],
    as_of: date,
) -> list[str]:
    """Owners of exceptions in scope for ``as_of`` who are unknown or have no e-mail address (sorted).

    Only sales-rep rules' exceptions are judged (a finance rule's goes to the finance team). An exception
    with no owning rep is reported as ``"(no owner)"``, one of a rule whose owner is neither as
    ``"(rule owner <owner>)"``.
    """
    rep_by_id = _coerce_reps(reps)
    scoped = set()
    for exc in _coerce_exceptions(exceptions):
        if exc.status != "open" or exc.last_seen_date != as_of or exc.rule_owner == FINANCE:
            continue
        if exc.rule_owner != SALES_REP:
            scoped.add(f"(rule owner {exc.rule_owner})")
        else:
            scoped.add(exc.owner_rep_id or NO_OWNER)
    return sorted(rep for rep in scoped if rep not in rep_by_id or not rep_by_id[rep].email)


# -- rendering --------------------------------------------------------------------------------------------
LABELS: dict[str, dict[str, str]] = {
    "EN": {
        "lang": "en",
        "title": "Abnormal orders",
        "hello": "Hello {name},",
        "summary": "As of {date} you have {new} and {open} in total.",
        "owner_note": "You receive this digest as the owner of these customers' orders.",
        "new_part": "NEW: not alerted before",
        "escalated_part": "ESCALATED: alerted before, more severe now",
        "open_part": "Still open: alerted before",
        "new_tag": "[NEW]",
        "escalated_tag": "[ESCALATED]",
        "was": "{severity} (was {before})",
        "rule": "Rule",
        "severity": "Severity",
        "reference": "Sales order / invoice",
        "sales_order": "Sales order",
        "invoice": "Invoice",
        "customer": "Customer",
        "measure": "Measure",
        "first_seen": "First seen",
        "detail": "Detail",
        "colon": ": ",
        "footer": "Sent by o2c for business date {date}. Fix the order in the ERP and it closes by itself.",
    },
    "ZH": {
        "lang": "zh-CN",
        "title": "异常订单",
        "hello": "{name}，您好：",
        "summary": "截至 {date}，您有 {new}，{open}。",
        "owner_note": "您作为这些客户订单的负责人收到本摘要。",
        "new_part": "新增：首次提醒",
        "escalated_part": "升级：此前已提醒，现严重程度提高",
        "open_part": "仍未关闭：此前已提醒",
        "new_tag": "【新增】",
        "escalated_tag": "【升级】",
        "was": "{severity}（此前为{before}）",
        "rule": "规则",
        "severity": "严重程度",
        "reference": "销售订单 / 发票",
        "sales_order": "销售订单",
        "invoice": "发票",
        "customer": "客户",
        "measure": "数值",
        "first_seen": "首次发现",
        "detail": "说明",
        "colon": "：",
        "footer": "o2c 按业务日期 {date} 发送。在 ERP 中处理订单后，异常将自动关闭。",
    },
}

FINANCE_LABELS: dict[str, dict[str, str]] = {
    "EN": {
        "title": "Finance exceptions",
        "owner_note": "You receive this digest as the finance team.",
        "reference": "Reference",
        "footer": (
            "Sent by o2c for business date {date}. Fix the cause (apply the cash in the ERP, load the missing "
            "statement) and the exception closes by itself."
        ),
    },
    "ZH": {
        "title": "财务异常",
        "owner_note": "您作为财务团队收到本摘要。",
        "reference": "参考编号",
        "footer": "o2c 按业务日期 {date} 发送。处理问题后（在 ERP 中核销款项、补齐缺失的对账单），异常将自动关闭。",
    },
}
"""What the finance team's digest says differently from a rep's."""

NOUNS = {
    SALES_REP: {"EN": ("abnormal order", "abnormal orders"), "ZH": "异常订单"},
    FINANCE: {"EN": ("finance exception", "finance exceptions"), "ZH": "财务异常"},
}

RULE_SEPARATOR = "=" * 72


def labels_for(audience: str, language: str) -> dict[str, str]:
    """The labels of a digest to ``audience`` (``sales_rep`` or ``finance``) in ``language``."""
    if audience == FINANCE:
        return {**LABELS[language], **FINANCE_LABELS[language]}
    return LABELS[language]


def _other(language: str) -> str:
    return "ZH" if language == "EN" else "EN"


def _languages(digest: Digest) -> tuple[str, str]:
    preferred = digest.recipient.preferred_language
    first = preferred if preferred in LABELS else "EN"
    return first, _other(first)


def _noun(language: str, count: int, audience: str) -> str:
    nouns = NOUNS.get(audience, NOUNS[SALES_REP])
    if language == "ZH":
        return str(nouns["ZH"])
    singular, plural = nouns["EN"]
    return singular if count == 1 else plural


def count_phrase(language: str, count: int, *, new: bool, audience: str = SALES_REP) -> str:
    """``3 new abnormal orders`` / ``3 条新增异常订单`` (a finance digest: ``finance exceptions`` / ``财务异常``);
    ``5 open`` / ``共 5 条未关闭``."""
    if not new:
        return f"共 {count} 条未关闭" if language == "ZH" else f"{count} open"
    if language == "ZH":
        return f"{count} 条新增{_noun(language, count, audience)}"
    return f"{count} new {_noun(language, count, audience)}"


def escalated_phrase(language: str, count: int, *, audience: str = SALES_REP, alone: bool = True) -> str:
    """``2 escalated abnormal orders`` / ``2 条升级异常订单``; after the new ones' phrase (``alone`` false)
    just ``2 escalated`` / ``2 条升级``."""
    if language == "ZH":
        return f"{count} 条升级" + (_noun(language, count, audience) if alone else "")
    return f"{count} escalated" + (f" {_noun(language, count, audience)}" if alone else "")


def news_phrase(digest: Digest, language: str) -> str:
    """What is new in the digest: ``1 new abnormal order``, ``1 new abnormal order, 2 escalated``,
    ``2 escalated abnormal orders`` (and in Chinese)."""
    parts = []
    if digest.new_count or not digest.escalated_count:
        parts.append(count_phrase(language, digest.new_count, new=True, audience=digest.audience))
    if digest.escalated_count:
        parts.append(
            escalated_phrase(language, digest.escalated_count, audience=digest.audience, alone=not parts)
        )
    return ("，" if language == "ZH" else ", ").join(parts)


def _subject_part(digest: Digest, language: str) -> str:
    text = news_phrase(digest, language)
    if digest.open_count != digest.new_count + digest.escalated_count:
        opened = count_phrase(language, digest.open_count, new=False)
        text += f"（{opened}）" if language == "ZH" else f" ({opened})"
    return text


def subject(digest: Digest) -> str:
    """Both languages, the recipient's preferred one first, e.g.
    ``[o2c] 3 new abnormal orders / 3 条新增异常订单 — 2026-09-27``."""
    first, second = _languages(digest)
    return f"[o2c] {_subject_part(digest, first)} / {_subject_part(digest, second)} — {digest.as_of_date}"


def format_number(value: Decimal) -> str:
    """At most two decimals, no trailing zeros, no exponent: ``45``, ``12.5``, ``-3.14``."""
    text = format(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def format_measure(exc: OrderException, language: str) -> str:
    """The measure with its unit (``45 days`` / ``45 天``, ``12.5%``); empty when there is none."""
    if exc.measure is None:
        return ""
    number = format_number(exc.measure)
    unit = (exc.measure_unit or "").lower()
    if unit == "days":
        if language == "ZH":
            return f"{number} 天"
        return f"{number} day" if exc.measure == 1 else f"{number} days"
    if unit == "pct":
        return f"{number}%"
    return f"{number} {exc.measure_unit}" if exc.measure_unit else number


def rule_name(exc: OrderException, language: str) -> str:
    return exc.rule_name_zh if language == "ZH" else exc.rule_name_en


def customer_label(exc: OrderException, language: str) -> str:
    """Both customer names, the section's language first, then the customer id."""
    names = (
        [exc.customer_name_zh, exc.customer_name]
        if language == "ZH"
        else [exc.customer_name, exc.customer_name_zh]
    )
    shown: list[str] = []
    for name in names:
        if name and name not in shown:
            shown.append(name)
    label = " / ".join(shown)
    if exc.customer_id:
        label = f"{label}（{exc.customer_id}）" if language == "ZH" else f"{label} ({exc.customer_id})"
    return label.strip()


def reference_label(exc: OrderException, language: str) -> str:
    """``Sales order SO-1 · Invoice INV-1``; the entity key when the exception names neither (a finance
    rule's: the bank receipt's payment id, the statement issue's number)."""
    labels = LABELS[language]
    parts = []
    if exc.order_id:
        parts.append(f"{labels['sales_order']} {exc.order_id}")
    if exc.invoice_id:
        parts.append(f"{labels['invoice']} {exc.invoice_id}")
    return " · ".join(parts) or exc.entity_key


def detail(exc: OrderException, language: str) -> str:
    if language == "ZH":
        return exc.detail_zh or exc.detail_en
    return exc.detail_en or exc.detail_zh


def severity_label(exc: OrderException, language: str) -> str:
    return SEVERITY_LABEL[language].get(exc.severity, exc.severity)


def item_severity(item: DigestItem, language: str) -> str:
    """The severity; for an escalated item with the one it was alerted with: ``high (was medium)``."""
    current = severity_label(item.exception, language)
    if item.escalated_from is None:
        return current
    before = SEVERITY_LABEL[language].get(item.escalated_from, item.escalated_from)
    return LABELS[language]["was"].format(severity=current, before=before)


def _tag(item: DigestItem, language: str) -> str:
    labels = LABELS[language]
    if item.is_new:
        return labels["new_tag"]
    return labels["escalated_tag"] if item.is_escalated else ""


def _parts(digest: Digest) -> list[tuple[str, list[DigestItem]]]:
    new = [item for item in digest.items if item.is_new]
    escalated = [item for item in digest.items if item.is_escalated]
    still_open = [item for item in digest.items if not item.is_new and not item.is_escalated]
    parts = (("new_part", new), ("escalated_part", escalated), ("open_part", still_open))
    return [(key, items) for key, items in parts if items]


def _intro(digest: Digest, language: str) -> list[str]:
    labels = labels_for(digest.audience, language)
    recipient = digest.recipient
    name = (recipient.name_zh or recipient.name) if language == "ZH" else recipient.name
    summary = labels["summary"].format(
        date=digest.as_of_date,
        new=news_phrase(digest, language),
        open=count_phrase(language, digest.open_count, new=False),
    )
    return [labels["hello"].format(name=name or recipient.recipient_id), summary, labels["owner_note"]]


# -- plain text -------------------------------------------------------------------------------------------
def _text_item(item: DigestItem, language: str) -> list[str]:
    labels, exc, colon = LABELS[language], item.exception, LABELS[language]["colon"]
    tag = _tag(item, language)
    tag += " " if tag and language == "EN" else ""
    fields = [
        (labels["customer"], customer_label(exc, language)),
        (labels["severity"], item_severity(item, language)),
        (labels["measure"], format_measure(exc, language)),
        (labels["first_seen"], exc.first_seen_date.isoformat()),
        (labels["detail"], detail(exc, language)),
    ]
    lines = [f"  - {tag}{reference_label(exc, language)}"]
    lines += [f"      {name}{colon}{value}" for name, value in fields if value]
    return lines


def _text_part(title: str, items: list[DigestItem], language: str) -> list[str]:
    heading = f"{title} ({len(items)})" if language == "EN" else f"{title}（{len(items)}）"
    lines = ["", heading, "-" * 40]
    current_rule: str | None = None
    for item in items:
        if item.exception.rule_id != current_rule:
            current_rule = item.exception.rule_id
            lines += ["", f"{rule_name(item.exception, language)} [{current_rule}]"]
        lines += _text_item(item, language)
    return lines


def _text_section(digest: Digest, language: str) -> list[str]:
    labels = labels_for(digest.audience, language)
    lines = [f"{labels['title']} — {digest.as_of_date}", "", *_intro(digest, language)]
    for key, items in _parts(digest):
        lines += _text_part(labels[key], items, language)
    return [*lines, "", labels["footer"].format(date=digest.as_of_date)]


def render_text(digest: Digest) -> str:
    """The plain-text body: the preferred language's section, a rule, then the other language's."""
    first, second = _languages(digest)
    lines = [*_text_section(digest, first), "", RULE_SEPARATOR, "", *_text_section(digest, second)]
    return "\n".join(lines) + "\n"


# -- HTML -------------------------------------------------------------------------------------------------
def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


_TABLE_STYLE = "border-collapse:collapse;width:100%;font-size:13px"
_CELL_STYLE = "border:1px solid #d0d7de;padding:4px 6px;vertical-align:top;text-align:left"
_TAG_STYLE = "background:#cf222e;color:#fff;border-radius:3px;padding:0 4px;font-size:11px;font-weight:bold"


def _html_row(item: DigestItem, language: str) -> str:
    exc, label = item.exception, _tag(item, language)
    tag = f'<span style="{_TAG_STYLE}">{_esc(label)}</span> ' if label else ""
    cells = [
        f"{tag}{_esc(rule_name(exc, language))}<br><small>{_esc(exc.rule_id)}</small>",
        _esc(item_severity(item, language)),
        _esc(reference_label(exc, language)),
        _esc(customer_label(exc, language)),
        _esc(format_measure(exc, language)),
        _esc(exc.first_seen_date.isoformat()),
        _esc(detail(exc, language)),
    ]
    return "<tr>" + "".join(f'<td style="{_CELL_STYLE}">{cell}</td>' for cell in cells) + "</tr>"


def _html_part(title: str, items: list[DigestItem], language: str, audience: str) -> str:
    labels = labels_for(audience, language)
    columns = ("rule", "severity", "reference", "customer", "measure", "first_seen", "detail")
    head = "".join(f'<th style="{_CELL_STYLE}">{_esc(labels[c])}</th>' for c in columns)
    count = f" ({len(items)})" if language == "EN" else f"（{len(items)}）"
    rows = "\n".join(_html_row(item, language) for item in items)
    return (
        f"<h3>{_esc(title)}{_esc(count)}</h3>\n"
        f'<table style="{_TABLE_STYLE}">\n<thead><tr>{head}</tr></thead>\n<tbody>\n{rows}\n</tbody>\n</table>'
    )


def _html_section(digest: Digest, language: str) -> str:
    labels = labels_for(digest.audience, language)
    paragraphs = "\n".join(f"<p>{_esc(line)}</p>" for line in _intro(digest, language))
    parts = "\n".join(
        _html_part(labels[key], items, language, digest.audience) for key, items in _parts(digest)
    )
    footer = (
        f'<p style="color:#57606a;font-size:12px">{_esc(labels["footer"].format(date=digest.as_of_date))}</p>'
    )
    title = f"<h2>{_esc(labels['title'])} — {_esc(digest.as_of_date)}</h2>"
    return f'<div lang="{labels["lang"]}">\n{title}\n{paragraphs}\n{parts}\n{footer}\n</div>'


def render_html(digest: Digest) -> str:
    """The HTML body (every value escaped): the preferred language's section, then the other's."""
    first, second = _languages(digest)
    return (
        '<!DOCTYPE html>\n<html lang="{lang}">\n<head><meta charset="utf-8"><title>{title}</title></head>\n'
        "<body style=\"font-family:Arial,'Microsoft YaHei','PingFang SC',sans-serif;color:#1f2328\">\n"
        "{first}\n<hr>\n{second}\n</body>\n</html>\n"
    ).format(
        lang=LABELS[first]["lang"],
        title=_esc(subject(digest)),
        first=_html_section(digest, first),
        second=_html_section(digest, second),
    )


def render(digest: Digest) -> tuple[str, str, str]:
    """``(subject, text_body, html_body)`` of a digest, in English and Chinese."""
    return subject(digest), render_text(digest), render_html(digest)
