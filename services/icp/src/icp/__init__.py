"""The icp service: ideal customer profiles and the search runs that source leads for them.

Its domain lands in its own issue; today it serves health and its (empty) jobs.
"""
