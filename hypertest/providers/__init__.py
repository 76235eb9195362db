"""Providers: where units run (local processes, AWS Lambda)."""
