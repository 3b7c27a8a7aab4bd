"""Machine-readable records: the rounded shapes of the JSON output and of the DataFrames (their
keys and columns), built from the exact result objects.

This layer sits below `nrr.present`, `nrr.web` and `nrr.cli`: the library's `frame()` methods
use it, and the terminal tables, CSV, HTML and the dashboard are built on top of it. It never
imports them (tests/test_layers.py).
"""
