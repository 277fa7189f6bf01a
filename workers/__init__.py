"""Celery workers: thin tasks that call into ``bridge``'s domain code."""
