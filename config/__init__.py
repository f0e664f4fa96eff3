"""Settings from the environment, and the venues' facts as data."""
