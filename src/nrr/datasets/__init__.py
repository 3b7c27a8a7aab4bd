"""Sample data: a seeded, realistic SaaS business for demos, docs and tests."""

from nrr.datasets.demo import DemoData, generate_demo, write_demo

__all__ = ["DemoData", "generate_demo", "write_demo"]
