"""Tests against real PostgreSQL, Redis and gunicorn processes started from their binaries."""
