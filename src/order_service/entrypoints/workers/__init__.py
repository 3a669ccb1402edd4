"""Background workers under one supervisor."""
