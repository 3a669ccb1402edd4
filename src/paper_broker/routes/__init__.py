"""HTTP routes of the paper broker, one module per Kite API area."""
