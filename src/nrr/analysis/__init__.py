"""Analyses beyond the headline window: NRR methods side by side, trends, cohorts, segment
impact, owners, expansion causes, rates and what-if projections (docs/analysis.md)."""
