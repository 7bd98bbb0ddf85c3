"""Entry points: the CLI, the demo, the tracking web app and synthetic data."""
