"""The `surveybot` command line: one module per command group."""
