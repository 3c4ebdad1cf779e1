"""User-facing errors.

Every error a user can cause (bad name, bad config field, malformed design) is raised as an
ArchGymError subclass with a message that names the field and the reason.  The command-line
entry points print the message and exit with status 2 instead of showing a traceback.
"""

from __future__ import annotations


class ArchGymError(Exception):
    """Base class of errors caused by user input."""


class ConfigError(ArchGymError):
    """An invalid configuration value: the message names the field and why it is invalid."""

    def __init__(self, field: str, reason: str):
        self.field = field
        self.reason = reason
        super().__init__(f"invalid config field '{field}': {reason}")

    def __reduce__(self) -> tuple:  # survives pickling (compare's worker processes, Ray)
        return (type(self), (self.field, self.reason))


class DesignError(ArchGymError):
    """A malformed or illegal design description."""


class UnknownNameError(ArchGymError):
    """An unknown env / agent / simulator / baseline name; the message lists the valid ones."""

    def __init__(self, kind: str, name: str, valid: list[str]):
        self.kind = kind
        self.name = name
        self.valid = sorted(valid)
        super().__init__(f"unknown {kind} '{name}'; valid {kind}s: {', '.join(self.valid)}")

    def __reduce__(self) -> tuple:  # survives pickling (compare's worker processes, Ray)
        return (type(self), (self.kind, self.name, self.valid))


class SimulationError(Exception):
    """A cost model failed on a design (crash, timeout, tool error). Logged as a failed evaluation."""
