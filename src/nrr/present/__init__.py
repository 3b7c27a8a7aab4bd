"""Presentation: rounding for output, DataFrames, JSON/CSV, and terminal tables."""
