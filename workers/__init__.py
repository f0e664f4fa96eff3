"""The worker process: the RQ worker and the job functions it imports by name."""
