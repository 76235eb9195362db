"""The Playwright plugin."""
