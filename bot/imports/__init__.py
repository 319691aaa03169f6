"""Imports from CSV files: contacts (audiences) and historical responses."""
