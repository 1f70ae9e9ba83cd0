"""Signals of the job machinery, for code that watches jobs without being part of them."""
from django.dispatch import Signal

# Sent at every progress call of a job, written or throttled (sender: the job's model; job, percent,
# message). Tests slow jobs down with it to watch them move; with no receiver it costs next to nothing.
progress_reported = Signal()
