"""Sample data: a seeded, realistic SaaS business for demos, docs and tests."""

from nrr.datasets.demo import DemoData, generate_demo, write_demo
from nrr.datasets.signals import SIGNAL_TABLES, generate_signals

__all__ = ["SIGNAL_TABLES", "DemoData", "generate_demo", "generate_signals", "write_demo"]
