"""The Playwright Test runner: the wrapper config, our result reporter, and the run session's files."""
