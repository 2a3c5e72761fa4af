"""The package version, at the ground floor so that every layer may report it."""

__version__ = "0.1.0"
