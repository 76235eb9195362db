"""Test-runner plugins: discover tests and turn them into invocation units."""
