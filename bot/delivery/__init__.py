"""Delivery: the outbox sender that claims due questions and reminders and sends them."""
