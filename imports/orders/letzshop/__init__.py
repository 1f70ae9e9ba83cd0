"""The Letzshop vendor API as the order import reads it: the schema, the query, the client, a fake server."""
from pathlib import Path

SCHEMA_PATH = Path(__file__).with_name("schema.graphql")
