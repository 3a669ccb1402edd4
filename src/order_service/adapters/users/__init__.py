"""User directories: the local users table (API keys and HS256 JWTs)."""
