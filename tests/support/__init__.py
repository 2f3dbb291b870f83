"""Throw-away servers for the tests: PostgreSQL and PulseAudio, started and stopped by fixtures."""
