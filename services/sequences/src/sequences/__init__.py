"""The sequences service: outreach plans (steps, templates), enrollments, the schedule, call tasks."""
