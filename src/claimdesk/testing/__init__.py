"""Helpers for tests and benchmarks: a throwaway PostgreSQL and an in-thread server."""
