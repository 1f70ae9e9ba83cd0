"""The demo: one finished job of each task type, run through the services real triggers use."""
