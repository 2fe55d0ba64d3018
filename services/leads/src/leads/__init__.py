"""The leads service: people a team may reach, and their enrichment."""
