"""The warnings of a file being read, each text once."""

from __future__ import annotations


class Notes:
    """Appends warnings to a file's warning list (the list a :class:`BankFileStream` exposes)."""

    __slots__ = ("_seen", "warnings")

    def __init__(self, warnings: list[str]) -> None:
        self.warnings = warnings
        self._seen: set[str] = set()

    def add(self, text: str) -> None:
        """Add a warning."""
        self.warnings.append(text)

    def once(self, text: str) -> None:
        """Add a warning unless the same text was added before through :meth:`once`."""
        if text not in self._seen:
            self._seen.add(text)
            self.warnings.append(text)
