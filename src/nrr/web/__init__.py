"""`nrr serve`: a read-only dashboard and JSON API over one book (docs/dashboard.md)."""

from __future__ import annotations

from nrr.web.app import create_app

__all__ = ["create_app"]
