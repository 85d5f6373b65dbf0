"""Where received bank files are kept: an immutable, content-addressed archive and the quarantine folder.

Every file received is archived once by its SHA-256 (``archive/bank/<sha[:2]>/<sha>``, read-only), before
anything else happens to it: what the bank sent can always be shown, whatever became of it. Its name (and
what became of it) is in ``ops.bank_files``. A quarantined file also goes to the quarantine folder under
its own name, with a ``.reason.txt`` beside it, for people to look at and fix.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def archive_path(root: Path, sha: str) -> Path:
    """Where the bytes with this SHA-256 are archived."""
    return root / sha[:2] / sha


def archive(path: Path, sha: str, root: Path) -> Path:
    """Keep the file's bytes under their SHA-256, read-only; a file archived before is not written again.

    The copy is written to a temporary name and renamed, so the archive never holds half a file; its hash is
    checked after copying (a file changed while it was being read is not archived under a wrong hash).
    """
    target = archive_path(root, sha)
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{sha}.{os.getpid()}.part")
    shutil.copyfile(path, partial)
    if sha256_of(partial) != sha:
        partial.unlink()
        raise OSError(f"{path} changed while it was archived (its SHA-256 is no longer {sha})")
    partial.chmod(0o444)
    partial.rename(target)
    return target


def inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` lies in ``folder``."""
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def set_aside(path: Path, folder: Path, *, move: bool, reason: str | None = None) -> Path:
    """Move (or copy) a file into ``folder`` under its name (a new name if another file has it), with its
    reason beside it."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / path.name
    if target.exists() and target.resolve() != path.resolve():
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        target = folder / f"{path.stem}.{stamp}{path.suffix}"
    if target.resolve() != path.resolve():
        if move:
            shutil.move(str(path), target)
        else:
            shutil.copy2(path, target)
    if reason is not None:
        target.with_name(target.name + ".reason.txt").write_text(reason + "\n")
    return target
