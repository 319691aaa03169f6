"""The FastAPI application: JSON API, web-chat pages, and (later) provider webhooks."""
