"""Pure business rules: no I/O, no Prefect, no SQLAlchemy (a test enforces it)."""
