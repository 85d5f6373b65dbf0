"""Source-system adapters: parsers and extractors that turn external inputs into Python models."""
