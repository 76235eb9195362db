"""GitHub: job summary, annotations, pull-request comment, outputs, and the action's entry point."""
