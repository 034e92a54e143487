"""Relational storage: SQLAlchemy 2 models, sessions, repositories, Alembic migrations."""
