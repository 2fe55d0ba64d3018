"""The gateway: the public REST API and the web client, speaking gRPC to the domain services."""
