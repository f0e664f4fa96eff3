"""Notifications through Apprise: posted to an outbox in Redis where an event happens (``outbox``), sent by a
thread in every process that has ``NOTIFY_URLS`` (``sender``), worded in ``messages``; refused alerts are
summarised at most once a minute across the web processes (``refusals``)."""
