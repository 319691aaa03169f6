"""The running service, sorted by capability: one sub-package each (see docs/architecture.md)."""
