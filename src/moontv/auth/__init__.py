"""Accounts: password hashing, signed session tokens, roles, bans and login throttling."""
