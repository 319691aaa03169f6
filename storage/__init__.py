"""Persistence: SQLModel tables, the async engine, the unit of work, repositories, migrations."""
