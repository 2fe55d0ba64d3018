"""The icp service: ideal customer profiles and the search runs that source leads for them."""
