"""Tests for the devstack process toolkit."""
