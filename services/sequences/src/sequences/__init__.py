"""The sequences service: multi-step outreach: sequences, steps, enrollments and the sends they schedule.

Its domain lands in its own issue; today it serves health and its (empty) jobs.
"""
