"""All SQL that the relay and the API run, one module per concept.

Each function takes a psycopg connection and is named after the SQL
function it calls, or after the rows it reads or writes. Errors come out
translated by relay.database.translated_errors.
"""
