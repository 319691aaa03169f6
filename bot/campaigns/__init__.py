"""Relationship campaigns: specs, schedules, the leader-elected scheduler and their runs."""
