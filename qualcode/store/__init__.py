"""The SQLite store: connection, schema, audit log, and one module per kind of thing kept.

All SQL in qualcode lives in this package.
"""
