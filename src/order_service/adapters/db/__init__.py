"""The database adapter: SQLAlchemy Core on SQLite or PostgreSQL behind the repository ports."""
