"""The running service: settings, the service container, start-up and the worker process."""
