"""Stream a camt.052/053/054 file with ``lxml.etree.iterparse``: message detection, then report by report.

**Detection.** A first, short pass reads the opening tags only: the message container
(``BkToCstmrAcctRpt``, ``BkToCstmrStmt``, ``BkToCstmrDbtCdtNtfctn``; ``…V01`` in version 1) names the
message, its namespace ``urn:iso:std:iso:20022:tech:xsd:camt.05N.001.NN`` the version. A document without
namespace is read by element names, with a warning; one with another namespace, or whose namespace and
container disagree, is rejected. Versions .01 to .14 are known (their XSDs were used to find each
element's names); another version is read by the same names, with a warning.

**Streaming.** The second pass asks lxml for the end of ``GrpHdr``, of the reports and of ``Ntry`` only.
At the end of a report's first ``Ntry`` everything before it (account, balances, ``TxsSummry``) is
complete: the report's head is read and the entry built. Each ``Ntry`` is cleared once built and the
elements before it are deleted, and so is each finished report, so the tree never holds more than one
entry: memory stays flat however large the file. Blank text between elements (a pretty-printed file's
indentation) is dropped while parsing: it reads the same (every text is read stripped) and parses faster
(see the note below ``SAFE_PARSING``).

**Safety.** No network, no DTD, no entity expansion (a ``DOCTYPE`` with entities leaves them unexpanded),
no huge-tree mode. Malformed XML is a :class:`~o2c.sources.bank.model.BankFileError` ("not well-formed
XML"), raised when the parser reaches it, which may be while the entries stream.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

from lxml import etree

from o2c.sources.bank.camt import reports
from o2c.sources.bank.camt.elements import Element, Node, local_name
from o2c.sources.bank.model import (
    REPORT_INTRADAY,
    REPORT_NOTIFICATION,
    REPORT_STATEMENT,
    BankEntry,
    BankFileError,
    BankFileStream,
    StatementStream,
    StatementTail,
)

_NAMESPACE = re.compile(r"urn:iso:std:iso:20022:tech:xsd:(camt\.05[234])\.001\.(\d{2})")
_KNOWN_VERSIONS = range(1, 15)
_CONTAINERS = {
    "camt.052": "BkToCstmrAcctRpt",
    "camt.053": "BkToCstmrStmt",
    "camt.054": "BkToCstmrDbtCdtNtfctn",
}
_MESSAGES = {name + suffix: message for message, name in _CONTAINERS.items() for suffix in ("", "V01")}
_KINDS = {
    # message: (format, report kind, report element, noun)
    "camt.052": ("camt052", REPORT_INTRADAY, "Rpt", "report"),
    "camt.053": ("camt053", REPORT_STATEMENT, "Stmt", "statement"),
    "camt.054": ("camt054", REPORT_NOTIFICATION, "Ntfctn", "notification"),
}
_PEEK_ELEMENTS = 64
"""Opening tags read at most to find the message container (it is the root's first child)."""

SAFE_PARSING: dict[str, Any] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "huge_tree": False,
    "remove_comments": True,
    "remove_pis": True,
}
"""lxml parser options: never fetch anything, never expand entities, keep libxml2's size limits."""

# The second pass also drops blank text between elements (``remove_blank_text``): a pretty-printed file's
# indentation is a text node per element, which libxml2 then neither builds nor frees (iterparse alone is
# about a fifth faster on the benchmark's files). A leaf element keeps its text even when it is blank
# (libxml2 keeps blanks directly before an end tag of an element without children), and mixed content is
# kept; every text is read stripped, so an element's text being blank or absent reads the same.


def _malformed(exc: etree.XMLSyntaxError) -> BankFileError:
    return BankFileError(f"not well-formed XML: {exc}")


def _named(exc: BankFileError, name: str) -> BankFileError:
    return exc if exc.file_name else BankFileError(exc.reason, name)


def detect(source: BinaryIO) -> tuple[reports.Message, list[str]]:
    """Read the opening tags of a document and tell which camt message it is.

    Returns:
        The message and the warnings about it (no namespace, unknown version).

    Raises:
        BankFileError: Not well-formed at the start, not a camt.052/053/054 message, or a namespace that
            contradicts the message element.
    """
    root: Element | None = None
    container: Element | None = None
    try:
        for number, (_, element) in enumerate(etree.iterparse(source, events=("start",), **SAFE_PARSING)):
            if root is None:
                root = element
            if local_name(str(element.tag)) in _MESSAGES:
                container = element
                break
            if number >= _PEEK_ELEMENTS:
                break
    except etree.XMLSyntaxError as exc:
        raise _malformed(exc) from exc
    if root is None:
        raise BankFileError("not well-formed XML: no root element")
    warnings: list[str] = []
    namespace = etree.QName(container if container is not None else root).namespace
    version = None
    if namespace:
        match = _NAMESPACE.fullmatch(namespace)
        if not match:
            raise BankFileError(f"namespace {namespace!r} is not a camt.052, camt.053 or camt.054 namespace")
        message, variant = match.groups()
        version = f"{message}.001.{variant}"
        if int(variant) not in _KNOWN_VERSIONS:
            warnings.append(f"{version} is outside the known .01-.14; parsed by element names")
    elif container is not None:
        message = _MESSAGES[local_name(str(container.tag))]
        warnings.append("no ISO 20022 namespace; parsed by element names")
    else:
        raise BankFileError(
            f"<{local_name(str(root.tag))}> is not a camt.052, camt.053 or camt.054 message:"
            " no camt namespace and no BkToCstmrAcctRpt, BkToCstmrStmt or BkToCstmrDbtCdtNtfctn element"
        )
    if container is None:
        raise BankFileError(
            f"<{local_name(str(root.tag))}> has no {_CONTAINERS[message]} element: not a {message} message"
        )
    container_name = local_name(str(container.tag))
    if _MESSAGES[container_name] != message:
        raise BankFileError(
            f"<{container_name}> is a {_MESSAGES[container_name]} message, but the namespace is {namespace}"
        )
    fmt, kind, tag, noun = _KINDS[message]
    return reports.Message(fmt, version, kind, tag, noun, container_name), warnings


class _Reader:
    """The second pass over the document: its reports, and each report's entries, as they come (parsed with
    :data:`SAFE_PARSING` and ``remove_blank_text``, see the note below it)."""

    def __init__(self, source: BinaryIO, name: str, message: reports.Message, warnings: list[str]) -> None:
        self.name = name
        self.message = message
        self.warnings = warnings
        self.header = reports.GroupHeader()
        tags = ["{*}GrpHdr", "{*}" + message.report_tag, "{*}Ntry"]
        self._events = iter(
            etree.iterparse(source, events=("end",), tag=tags, remove_blank_text=True, **SAFE_PARSING)
        )

    def _next(self) -> Element | None:
        """The next element whose end was reached, or ``None`` at the end of the document."""
        try:
            element: Element = next(self._events)[1]
        except StopIteration:
            return None
        except etree.XMLSyntaxError as exc:
            raise _malformed(exc) from exc
        return element

    def statements(self) -> Iterator[StatementStream]:
        """The reports, in document order; each is read to its end before the next is started."""
        try:
            yield from self._statements()
        except BankFileError as exc:
            raise _named(exc, self.name) from exc

    def _statements(self) -> Iterator[StatementStream]:
        index = 0
        tag = self.message.report_tag
        while (element := self._next()) is not None:
            name = local_name(str(element.tag))
            parent = element.getparent()
            if name == "GrpHdr":
                self._group_header(element)
                continue
            if parent is None:
                continue
            if name == "Ntry" and local_name(str(parent.tag)) == tag:
                report_element, first = parent, element
            elif name == tag and local_name(str(parent.tag)) == self.message.container:
                report_element, first = element, None
            else:
                continue
            index += 1
            report = reports.Report(report_element, index, self.message, self.header, self.warnings, first)
            entries = self._entries(report, first)
            yield StatementStream(report.head, entries, self._tail(report, entries))
            for _ in entries:  # the consumer did not read them all: read past them
                pass
            if not report.finished:  # its entries stopped at an error: the rest of the file is not read
                return
        if index == 0:
            raise BankFileError(
                f"{self.message.container} contains no {tag}: the file holds no {self.message.noun}"
            )

    def _group_header(self, element: Element) -> None:
        header = Node(element)
        self.header = reports.GroupHeader(message_id=header.text("MsgId"), created=header.raw("CreDtTm"))

    def _entries(self, report: reports.Report, first: Element | None) -> Iterator[BankEntry]:
        """The booked entries of a report; at its end, the report's closing checks."""
        try:
            if first is not None:
                entry = self._read(report, first)
                if entry is not None:
                    yield entry
                while (element := self._next()) is not None and element is not report.element:
                    if local_name(str(element.tag)) == "Ntry" and element.getparent() is report.element:
                        entry = self._read(report, element)
                        if entry is not None:
                            yield entry
            report.finish()
            _release(report.element)
        except BankFileError as exc:
            raise _named(exc, self.name) from exc

    @staticmethod
    def _read(report: reports.Report, element: Element) -> BankEntry | None:
        entry = report.read(element)
        _release(element)
        return entry

    def _tail(self, report: reports.Report, entries: Iterator[BankEntry]) -> Callable[[], StatementTail]:
        def tail() -> StatementTail:
            for _ in entries:  # entries not (all) consumed: read past them
                pass
            return report.tail()

        return tail


def _release(element: Element) -> None:
    """Free a processed element and everything before it in its parent."""
    element.clear()
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]


def open_camt(source: BinaryIO, name: str) -> BankFileStream:
    """Open a camt.052, camt.053 or camt.054 file as a stream of reports and entries.

    Args:
        source: The file, binary and seekable (it is read twice from its current position: a few opening
            tags to detect the message, then the whole document).
        name: The file name, for the reasons of errors.

    Returns:
        The stream: ``format`` ``camt052``/``camt053``/``camt054``, ``version`` such as
        ``camt.053.001.08`` (``None`` without namespace), the report kind, and the reports (one per
        ``Rpt``/``Stmt``/``Ntfctn``), each yielding its booked entries. Balances and stated totals are not
        checked against the entries here (see :mod:`o2c.sources.bank.parse`), except that a report whose
        balance sign had to be assumed must reconcile.

    Raises:
        BankFileError: Now for a file that is not a camt.052/053/054 message; later, while the reports and
            entries are read, for anything that cannot be read unambiguously (``reason`` says where). Any
            other exception is a defect of the parser and propagates.
    """
    try:
        start = source.tell()
        message, warnings = detect(source)
        source.seek(start)
    except BankFileError as exc:
        raise _named(exc, name) from exc
    reader = _Reader(source, name, message, warnings)
    return BankFileStream(
        format=message.format,
        version=message.version,
        report_kind=message.report_kind,
        statements=reader.statements(),
        warnings=warnings,
    )
