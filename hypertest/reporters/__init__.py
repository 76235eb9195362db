"""Reporters: console progress and summary, results JSON, JUnit XML, the merged HTML report."""
