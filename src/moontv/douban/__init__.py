"""Douban lists (tag lists, Top 250, recent-hot, recommend) fetched server-side and cached."""
