"""Build and render the per-rep abnormal-order digest (pure functions: no I/O, no wall clock).

A rep gets one digest per as-of business date, listing their open abnormal orders seen on that date. The
digest exists only when at least one of them was never alerted to the rep before ("new"); new items come
first, then the ones still open from earlier alerts. Within each part items are grouped by rule, the rule
with the most severe item first. Every digest is rendered in English and Chinese in one message, the rep's
preferred language first. Terms follow the glossary in DESIGN.md section 7.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

SEVERITY_RANK = {"high": 0, "medium": 1, "low": 2}
"""Sort rank of each severity (most severe first); unknown severities sort last."""

SEVERITY_LABEL = {
    "EN": {"high": "high", "medium": "medium", "low": "low"},
    "ZH": {"high": "高", "medium": "中", "low": "低"},
}

NO_OWNER = "(no owner)"

AlertedKey = tuple[str, str, str]
"""``(rep_id, rule_id, entity_key)``: one exception once alerted to one rep."""


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
class DigestItem:
    """One exception in a digest; ``is_new`` when it was never alerted to this rep before."""

    exception: OrderException
    is_new: bool


@dataclass(frozen=True)
class Digest:
    """What one rep receives for one as-of date.

    ``new_count`` counts the items never alerted before; ``open_count`` counts all open items listed
    (new ones included).
    """

    rep: SalesRep
    as_of_date: date
    items: tuple[DigestItem, ...]
    new_count: int
    open_count: int

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
    """Whether an exception belongs in its owner's digest for ``as_of``: open and seen on that date."""
    return exc.status == "open" and exc.last_seen_date == as_of and bool(exc.owner_rep_id)


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


def _digest_for(
    rep: SalesRep, exceptions: list[OrderException], already_alerted: AbstractSet[AlertedKey], as_of: date
) -> Digest | None:
    is_new = {
        e.exception_id: (rep.sales_rep_id, e.rule_id, e.entity_key) not in already_alerted for e in exceptions
    }
    new = order_items(e for e in exceptions if is_new[e.exception_id])
    if not new:
        return None
    still_open = order_items(e for e in exceptions if not is_new[e.exception_id])
    items = tuple(DigestItem(e, True) for e in new) + tuple(DigestItem(e, False) for e in still_open)
    return Digest(rep=rep, as_of_date=as_of, items=items, new_count=len(new), open_count=len(items))


def build_digests(
    exceptions: Iterable[OrderException | Mapping[str, Any]],
    reps: Iterable[SalesRep | Mapping[str, Any]],
    already_alerted: AbstractSet[AlertedKey],
    as_of: date,
) -> list[Digest]:
    """One digest per rep who has at least one new open exception last seen on ``as_of``.

    ``already_alerted`` holds the ``(rep_id, rule_id, entity_key)`` triples already alerted to each rep
    by other runs. Exceptions owned by a rep missing from ``reps`` are left out (see :func:`unroutable_rep_ids`).
    Digests are sorted by rep id; the result depends only on the arguments.
    """
    rep_by_id = _coerce_reps(reps)
    per_rep: dict[str, list[OrderException]] = {}
    for exc in _coerce_exceptions(exceptions):
        if in_digest(exc, as_of) and exc.owner_rep_id in rep_by_id:
            per_rep.setdefault(exc.owner_rep_id, []).append(exc)
    digests = (
        _digest_for(rep_by_id[rep_id], excs, already_alerted, as_of) for rep_id, excs in per_rep.items()
    )
    return sorted((d for d in digests if d is not None), key=lambda d: d.rep.sales_rep_id)


def unroutable_rep_ids(
    exceptions: Iterable[OrderException | Mapping[str, Any]],
    reps: Iterable[SalesRep | Mapping[str, Any]],
    as_of: date,
) -> list[str]:
    """Owners of exceptions in scope for ``as_of`` who are unknown or have no e-mail address (sorted).

    An exception with no owner at all is reported as ``"(no owner)"``.
    """
    rep_by_id = _coerce_reps(reps)
    scoped = {
        exc.owner_rep_id or NO_OWNER
        for exc in _coerce_exceptions(exceptions)
        if exc.status == "open" and exc.last_seen_date == as_of
    }
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
        "open_part": "Still open: alerted before",
        "new_tag": "[NEW]",
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
        "open_part": "仍未关闭：此前已提醒",
        "new_tag": "【新增】",
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

RULE_SEPARATOR = "=" * 72


def _other(language: str) -> str:
    return "ZH" if language == "EN" else "EN"


def _languages(digest: Digest) -> tuple[str, str]:
    first = digest.rep.preferred_language if digest.rep.preferred_language in LABELS else "EN"
    return first, _other(first)


def count_phrase(language: str, count: int, *, new: bool) -> str:
    """``3 new abnormal orders`` / ``3 条新增异常订单``; ``5 open`` / ``共 5 条未关闭``."""
    if language == "ZH":
        return f"{count} 条新增异常订单" if new else f"共 {count} 条未关闭"
    if new:
        return f"{count} new abnormal order{'' if count == 1 else 's'}"
    return f"{count} open"


def _subject_part(digest: Digest, language: str) -> str:
    text = count_phrase(language, digest.new_count, new=True)
    if digest.open_count != digest.new_count:
        opened = count_phrase(language, digest.open_count, new=False)
        text += f"（{opened}）" if language == "ZH" else f" ({opened})"
    return text


def subject(digest: Digest) -> str:
    """Both languages, the rep's preferred one first, e.g.
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
    """``Sales order SO-1 · Invoice INV-1``; the entity key when the exception names neither."""
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


def _parts(digest: Digest) -> list[tuple[str, list[DigestItem]]]:
    new = [item for item in digest.items if item.is_new]
    still_open = [item for item in digest.items if not item.is_new]
    return [(key, items) for key, items in (("new_part", new), ("open_part", still_open)) if items]


def _intro(digest: Digest, language: str) -> list[str]:
    labels = LABELS[language]
    name = (digest.rep.rep_name_zh or digest.rep.rep_name) if language == "ZH" else digest.rep.rep_name
    summary = labels["summary"].format(
        date=digest.as_of_date,
        new=count_phrase(language, digest.new_count, new=True),
        open=count_phrase(language, digest.open_count, new=False),
    )
    return [labels["hello"].format(name=name or digest.rep.sales_rep_id), summary, labels["owner_note"]]


# -- plain text -------------------------------------------------------------------------------------------
def _text_item(item: DigestItem, language: str) -> list[str]:
    labels, exc, colon = LABELS[language], item.exception, LABELS[language]["colon"]
    tag = (labels["new_tag"] + (" " if language == "EN" else "")) if item.is_new else ""
    fields = [
        (labels["customer"], customer_label(exc, language)),
        (labels["severity"], severity_label(exc, language)),
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
    labels = LABELS[language]
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
    labels, exc = LABELS[language], item.exception
    tag = f'<span style="{_TAG_STYLE}">{_esc(labels["new_tag"])}</span> ' if item.is_new else ""
    cells = [
        f"{tag}{_esc(rule_name(exc, language))}<br><small>{_esc(exc.rule_id)}</small>",
        _esc(severity_label(exc, language)),
        _esc(reference_label(exc, language)),
        _esc(customer_label(exc, language)),
        _esc(format_measure(exc, language)),
        _esc(exc.first_seen_date.isoformat()),
        _esc(detail(exc, language)),
    ]
    return "<tr>" + "".join(f'<td style="{_CELL_STYLE}">{cell}</td>' for cell in cells) + "</tr>"


def _html_part(title: str, items: list[DigestItem], language: str) -> str:
    labels = LABELS[language]
    columns = ("rule", "severity", "reference", "customer", "measure", "first_seen", "detail")
    head = "".join(f'<th style="{_CELL_STYLE}">{_esc(labels[c])}</th>' for c in columns)
    count = f" ({len(items)})" if language == "EN" else f"（{len(items)}）"
    rows = "\n".join(_html_row(item, language) for item in items)
    return (
        f"<h3>{_esc(title)}{_esc(count)}</h3>\n"
        f'<table style="{_TABLE_STYLE}">\n<thead><tr>{head}</tr></thead>\n<tbody>\n{rows}\n</tbody>\n</table>'
    )


def _html_section(digest: Digest, language: str) -> str:
    labels = LABELS[language]
    paragraphs = "\n".join(f"<p>{_esc(line)}</p>" for line in _intro(digest, language))
    parts = "\n".join(_html_part(labels[key], items, language) for key, items in _parts(digest))
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
