"""How surveybot starts: the services built and wired, their background work, the worker process."""
