"""Core: configuration, the invoke pipeline, the dispatcher and the results model."""
