"""Local process toolkit for `make run` and the test suite: PostgreSQL, NATS, service processes."""
