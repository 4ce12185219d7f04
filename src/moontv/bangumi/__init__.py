"""Bangumi daily calendar for the anime page, fetched server-side and cached."""
