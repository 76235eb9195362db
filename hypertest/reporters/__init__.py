"""Runner-neutral reporters: console progress and summary, JUnit XML, GitHub. `html` names the test runner's
merged report, which its plugin makes (hypertest/plugins/playwright/html_report.py)."""
