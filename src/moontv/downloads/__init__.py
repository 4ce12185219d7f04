"""Server-side downloads: an episode's ad-removed HLS stream fetched, decrypted and written as one file."""
