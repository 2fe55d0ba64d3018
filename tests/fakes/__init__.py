"""Local stand-ins for the providers' HTTP APIs, so tests run the real adapters over a real socket."""
