"""Contacts: the people surveys go to, validated the same way wherever they come from."""
