"""The broker gateway: Kite Connect through the official SDK, and a fake for tests."""
