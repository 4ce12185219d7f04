"""Rules over a user's own data that hold whatever the storage backend."""
