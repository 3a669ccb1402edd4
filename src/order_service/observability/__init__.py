"""Metrics and logging set-up; incremented at the edges, never in the domain."""
