"""Aggregated search: fan-out over sources, pagination, result cache, suggestions."""
