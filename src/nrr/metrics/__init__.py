"""The monthly bridge and the window, computed by the statements in `nrr.sql` on any engine.

tables.py   where a book's checked tables are, in its engine
slices.py   each line tagged with its customer's slice
window.py   retention over a window (METRICS.md section 4)
bridge.py   the monthly MRR bridge (METRICS.md section 3)
"""
