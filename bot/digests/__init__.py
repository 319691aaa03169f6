"""Digests: a survey's numbers and notable comments mailed daily or weekly."""
