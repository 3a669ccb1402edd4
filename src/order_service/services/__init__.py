"""Use cases: they orchestrate the domain through the ports, never a framework."""
