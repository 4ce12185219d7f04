"""HTTP layer: thin routers that parse input, check permissions, call services, shape JSON."""
