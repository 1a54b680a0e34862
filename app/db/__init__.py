"""Persistence kernel: ORM tables, engine/session factories and the Alembic migrations."""
