"""Outgoing HTTP to peers (webhook receivers): one client module on httpx, and URL safety."""
