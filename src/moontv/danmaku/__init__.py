"""Danmaku (bullet comments) from a self-hosted danmu_api-compatible server, fetched by our server."""
