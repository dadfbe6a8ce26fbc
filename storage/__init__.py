"""Storage layer: SQLModel tables, sessions, Alembic migrations and the bot's queries."""
