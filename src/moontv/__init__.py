"""MoonTV: self-hosted video aggregation player with a MoonTV-compatible API."""

__version__ = "0.1.0"
