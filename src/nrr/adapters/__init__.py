"""Adapters: a billing system's rows turned into canonical subscription lines.

Each adapter screens its own columns first (so problems name the source's own columns and
rows), then emits a text table with the canonical columns of METRICS.md section 1 and the
source row number in `_row`; `nrr.validate` then checks those lines like any other.
"""

from nrr.adapters.invoices import invoice_lines
from nrr.adapters.snapshots import snapshot_lines
from nrr.adapters.stripe import stripe_lines

FORMATS = ("canonical", "stripe", "invoices", "snapshots")

__all__ = ["FORMATS", "invoice_lines", "snapshot_lines", "stripe_lines"]
