"""Bank statement parsers (SWIFT MT940 and ISO 20022 camt.053) with one normalized model.

Use :func:`o2c.sources.bank.parse.parse_bank_file` to read, detect, parse and validate a file.
"""
