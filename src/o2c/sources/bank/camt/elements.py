"""Namespace-agnostic access to the elements of a camt document.

camt.052/053/054 exist in fourteen versions, each with its own namespace
(``urn:iso:std:iso:20022:tech:xsd:camt.053.001.NN``), and some files have none. Elements are therefore
looked up by *local name* only. A :class:`Node` wraps one element and indexes its children by local name
the first time one is asked for, so that the many lookups an entry needs cost a dictionary access each.

Speed matters here (a statement can hold a million entries), and most of it goes to lxml creating a
Python object for each element touched and spelling out its ``{namespace}tag``. So an element's children
are read once, local names are cached per tag, a child is wrapped in a :class:`Node` only when it is
navigated into (texts are read straight from the element), and only the parts of an entry that are needed
are visited. (Looking children up through lxml's ``find`` was three times slower; wrapping every child in
a node, two and a half times.)

Nodes are built for one entry at a time and dropped with it.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

Element = etree._Element

NOT_PROVIDED = frozenset({"", "NOTPROVIDED", "NONREF", "NONE"})
"""Placeholders banks write into reference fields when there is no reference (compared upper case)."""

_LOCAL_NAMES: dict[Any, str] = {}
"""lxml tag → local name ("" for comments, processing instructions and entities, whose tag is not a str);
bounded by the number of distinct tags in the documents read."""


def local_name(tag: Any) -> str:
    """The local part of an lxml tag (``{namespace}Local`` or ``Local``); "" for a non-element."""
    name = _LOCAL_NAMES.get(tag)
    if name is None:
        name = tag[tag.rfind("}") + 1 :] if isinstance(tag, str) else ""
        _LOCAL_NAMES[tag] = name
    return name


def normalized(text: str | None) -> str | None:
    """Whitespace collapsed to single blanks; ``None`` when absent or blank."""
    if text is None:
        return None
    stripped = text.strip()
    if stripped.isprintable() and "  " not in stripped:
        # no whitespace but single ASCII blanks: already normalized (every other whitespace character,
        # Unicode ones included, is not printable)
        return stripped or None
    return " ".join(stripped.split()) or None


def pick(element: Element, names: tuple[str, ...]) -> dict[str, Element]:
    """The first child element of each of ``names``, by local name: a direct scan, cheaper than a
    :class:`Node` for an element of two or three children read once."""
    found: dict[str, Element] = {}
    local = _LOCAL_NAMES
    for child in element:
        tag = child.tag
        name = local.get(tag)
        if name is None:
            name = local_name(tag)
        if name in names and name not in found:
            found[name] = child
    return found


def as_reference(text: str | None) -> str | None:
    """A reference text; ``None`` for placeholders such as ``NOTPROVIDED`` or ``NONREF``."""
    return None if text is None or text.upper() in NOT_PROVIDED else text


class Node:
    """One element, with its child elements indexed by local name on first use."""

    __slots__ = ("_first", "_more", "element")

    def __init__(self, element: Element) -> None:
        self.element = element
        self._first: dict[str, Element] | None = None
        self._more: dict[str, list[Element]] | None = None

    def _index(self) -> dict[str, Element]:
        """The first child of each local name (and, in :attr:`_more`, all of the repeated ones)."""
        first: dict[str, Element] = {}
        more: dict[str, list[Element]] | None = None
        names = _LOCAL_NAMES
        for child in self.element:
            tag = child.tag
            name = names.get(tag)
            if name is None:
                name = local_name(tag)
            if name in first:
                if more is None:
                    more = {}
                repeated = more.get(name)
                if repeated is None:
                    more[name] = [first[name], child]
                else:
                    repeated.append(child)
            elif name:
                first[name] = child
        self._first = first
        self._more = more
        return first

    @property
    def name(self) -> str:
        """The element's local name."""
        return local_name(self.element.tag)

    def has(self, name: str) -> bool:
        """Whether the element has a child with a local name."""
        first = self._first if self._first is not None else self._index()
        return name in first

    def get(self, name: str) -> Node | None:
        """The first child with a local name, or ``None``."""
        first = self._first if self._first is not None else self._index()
        child = first.get(name)
        return None if child is None else Node(child)

    def findall(self, name: str) -> list[Node]:
        """All direct children with a local name, in document order."""
        first = self._first if self._first is not None else self._index()
        child = first.get(name)
        if child is None:
            return []
        more = self._more
        if more is not None and name in more:
            return [Node(element) for element in more[name]]
        return [Node(child)]

    def find(self, *path: str) -> Node | None:
        """The first element along a path of local names, or ``None``."""
        node = self
        for name in path:
            found = node.get(name)
            if found is None:
                return None
            node = found
        return node

    def element_of(self, name: str) -> Element | None:
        """The first child element with a local name (unwrapped), or ``None``."""
        first = self._first if self._first is not None else self._index()
        return first.get(name)

    def first_text(self) -> str | None:
        """Stripped text of the first child element whatever its name (for a choice such as
        ``Dt``/``DtTm``); ``None`` when there is none or it is blank."""
        first = self._first if self._first is not None else self._index()
        for child in first.values():
            text = child.text
            return None if text is None else text.strip() or None
        return None

    def value_of(self, name: str) -> str | None:
        """Whitespace-normalized text of the first child with a local name; ``None`` when absent or blank."""
        first = self._first if self._first is not None else self._index()
        child = first.get(name)
        if child is None:
            return None
        text = child.text
        if text is None:
            return None
        stripped = text.strip()
        if stripped.isprintable() and "  " not in stripped:  # see normalized(): inlined, it is hot
            return stripped or None
        return " ".join(stripped.split()) or None

    def raw_of(self, name: str) -> str | None:
        """Stripped text of the first child with a local name; ``None`` when absent or blank."""
        first = self._first if self._first is not None else self._index()
        child = first.get(name)
        if child is None or child.text is None:
            return None
        return child.text.strip() or None

    @property
    def value(self) -> str | None:
        """The element's own text, whitespace-normalized; ``None`` when blank."""
        return normalized(self.element.text)

    @property
    def stripped(self) -> str | None:
        """The element's own text, stripped; ``None`` when blank."""
        text = self.element.text
        if text is None:
            return None
        return text.strip() or None

    def text(self, *path: str) -> str | None:
        """Whitespace-normalized text at a path (of the element itself for no path); ``None`` when absent or
        blank."""
        if not path:
            return self.value
        if len(path) == 1:
            return self.value_of(path[0])
        node = self.find(*path[:-1])
        return None if node is None else node.value_of(path[-1])

    def raw(self, *path: str) -> str | None:
        """Stripped text at a path (of the element itself for no path); ``None`` when absent or blank."""
        if not path:
            return self.stripped
        node = self.find(*path[:-1])
        return None if node is None else node.raw_of(path[-1])

    def ref(self, *path: str) -> str | None:
        """Like :meth:`text`, but placeholders such as ``NOTPROVIDED`` or ``NONREF`` count as absent."""
        return as_reference(self.text(*path))

    def attribute(self, name: str) -> str | None:
        """An attribute of the element (stripped); ``None`` when absent or blank."""
        value = self.element.get(name)
        if value is None:
            return None
        return value.strip() or None


def find(node: Node | None, *path: str) -> Node | None:
    """:meth:`Node.find` that accepts ``None`` (and then returns it)."""
    return None if node is None else node.find(*path)


def text(node: Node | None, *path: str) -> str | None:
    """:meth:`Node.text` that accepts ``None``."""
    return None if node is None else node.text(*path)
