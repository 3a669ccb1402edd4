"""Adapters: the technologies behind the ports (database, broker, coordination, users)."""
