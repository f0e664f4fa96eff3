"""The operator console: the signal log, the list APIs, the OpenAPI document, the dashboard page, sessions,
and the lockout that slows guesses. ``executor.console.context`` builds what its routes share."""
