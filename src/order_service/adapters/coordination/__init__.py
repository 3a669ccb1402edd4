"""Coordination between requests and processes: rate budgets (in-process and Redis)."""
