"""The REST API, one module per area."""
