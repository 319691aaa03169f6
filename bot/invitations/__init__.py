"""Invitations: triggers that create them, help-desk receivers, cancelling."""
