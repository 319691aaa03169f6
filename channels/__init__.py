"""Channel adapters: one file per channel; they know messages, not surveys or tables."""
