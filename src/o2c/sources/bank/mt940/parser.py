"""Parse an MT940 file: clean, tokenize, reject MT942, build every statement."""

from __future__ import annotations

from o2c.sources.bank.model import BankFileError, BankStatement, ParsedBankFile
from o2c.sources.bank.mt940.fields import (
    AVAILABLE_TAGS,
    CLOSING_TAGS,
    OPENING_TAGS,
    Block,
    Field,
    assemble_block,
    split_statements,
    tokenize,
)
from o2c.sources.bank.mt940.money import BALANCE_FIXES, STATEMENT_LINE_FIXES, normalize_amount
from o2c.sources.bank.mt940.statements import build_statement
from o2c.sources.bank.mt940.text import clean_text

FORMAT = "mt940"
_MT942_TYPES = frozenset({"942"})


def _reject_mt942(message_types: set[str], blocks: list[Block]) -> None:
    """Reject MT942 interim transaction reports: they are not statements."""
    if message_types & _MT942_TYPES:
        raise BankFileError("SWIFT header says MT942: interim transaction reports are not statements")
    for block in blocks:
        if block.mt942_tags and block.opening is None and block.closing is None:
            tags = ", ".join(sorted({f":{f.tag}:" for f in block.mt942_tags}))
            raise BankFileError(
                f"statement at line {block.reference.line_no} is an MT942 interim transaction"
                f" report ({tags}, no :60:/:62: balances), not a statement"
            )


def _no_statement_reason(fields: list[Field]) -> str:
    """Explain why a file without ``:20:`` holds no statement."""
    if not fields:
        return "no MT940 tags found"
    tags = ", ".join(sorted({f":{f.tag}:" for f in fields}))
    return f"no statement: no :20: transaction reference, only fragments ({tags})"


def _prepare_blocks(text: str, warnings: list[str]) -> list[Block]:
    """Tokenize and assemble statement blocks, normalizing decimal points."""
    fields = tokenize(text)
    for fld in fields:
        if fld.tag in OPENING_TAGS | CLOSING_TAGS | AVAILABLE_TAGS:
            normalize_amount(fld, BALANCE_FIXES, warnings)
        elif fld.tag == "61":
            normalize_amount(fld, STATEMENT_LINE_FIXES, warnings)
    groups, leading = split_statements(fields)
    if not groups:
        raise BankFileError(_no_statement_reason(fields))
    if leading:
        tags = ", ".join(f.describe() for f in leading[:3])
        warnings.append(f"ignored {len(leading)} tag(s) before the first :20: ({tags})")
    return [assemble_block(group) for group in groups]


def _block_warnings(block: Block, statement: BankStatement) -> list[str]:
    """Warnings about a block that was parsed despite oddities."""
    if block.mt942_tags:
        tags = ", ".join(sorted({f":{f.tag}:" for f in block.mt942_tags}))
        return [f"{statement.label}: ignored MT942 tags {tags}"]
    return []


def parse_mt940(data: bytes, name: str) -> ParsedBankFile:
    """Parse an MT940 file.

    Args:
        data: The raw file content.
        name: The file name, used in error messages.

    Returns:
        The statements in file order, not yet balance-validated
        (see :func:`o2c.sources.bank.parse.parse_bank_file`).

    Raises:
        BankFileError: The file cannot be read unambiguously; ``reason`` says why and where. Nothing
            else is caught: any other exception is a defect of the parser and propagates.
    """
    try:
        text, message_types, warnings = clean_text(data)
        blocks = _prepare_blocks(text, warnings)
        _reject_mt942(message_types, blocks)
        statements = []
        for block in blocks:
            statement = build_statement(block)
            warnings.extend(_block_warnings(block, statement))
            statements.append(statement)
    except BankFileError as exc:
        if exc.file_name:
            raise
        raise BankFileError(exc.reason, name) from exc
    # Anything else is a bug in this parser, not a property of the file: it propagates, so that the
    # ingest fails loudly and leaves the file in the inbox instead of quarantining it.
    return ParsedBankFile(FORMAT, None, tuple(statements), tuple(warnings))
