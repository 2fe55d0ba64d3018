"""The runs service: lead runs: quotas, the cap on concurrent runs, alerts, receipts and operations.

Its domain lands in its own issue; today it serves health and its (empty) jobs.
"""
