"""Customer health: the optional health inputs (usage, tickets, surveys, touchpoints,
stakeholders), read and validated into typed tables. Formats: docs/health-inputs.md."""

from nrr.health.inputs import COLUMNS, HEALTH_INPUTS, Signals, read_signals, validate_signal

__all__ = ["COLUMNS", "HEALTH_INPUTS", "Signals", "read_signals", "validate_signal"]
