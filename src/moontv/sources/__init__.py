"""Apple CMS v10 upstream sources: HTTP client, response parsing, per-source circuit breaker."""
