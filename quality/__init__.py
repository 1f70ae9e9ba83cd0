"""Quality: test runs and code-quality scans."""
