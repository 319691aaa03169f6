"""The running service: conversation engine, dispatcher, HTTP app, CLI, settings."""
