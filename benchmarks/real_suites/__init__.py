"""A corpus of public suites run with their own runner and with hypertest (issue 18 item 9)."""
