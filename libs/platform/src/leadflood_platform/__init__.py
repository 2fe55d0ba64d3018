"""What every Lead Flood service shares: settings, logs, tracing, gRPC bootstrap, the bus, the outbox."""
