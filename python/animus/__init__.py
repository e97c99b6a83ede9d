"""animus: the persistence layer of AI agents, in PostgreSQL.

The logic lives in the database (schema ``animus``); this package is a thin client.
"""
__version__ = "0.1.0"
