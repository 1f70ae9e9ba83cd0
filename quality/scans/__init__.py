"""Code-quality scans: architecture, security and performance validators run as background jobs."""
