"""eventrail: behavioural events and entity audit trail, wire-compatible with Capillary."""

__version__ = "0.1.0"
