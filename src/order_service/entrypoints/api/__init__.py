"""The HTTP API (FastAPI): the only code that knows HTTP statuses."""
