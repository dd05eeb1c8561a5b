"""Writes. Each function owns its transaction; views, tasks and commands call these."""
