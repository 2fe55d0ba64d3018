"""The inbox service: threads per lead across channels: inbound, outbound and delivery status.

Its domain lands in its own issue; today it serves health and its (empty) jobs.
"""
