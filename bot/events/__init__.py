"""Closing the loop: events delivered to webhook subscriptions, alerts and help-desk write-back."""
