"""Readers that turn the user's files and tables into raw, all-text tables for validation."""

from nrr.sources.files import RawSource, open_file, open_table

__all__ = ["RawSource", "open_file", "open_table"]
