"""Live TV: IPTV playlists (M3U/TXT), XMLTV/DIYP programme guides, channel health."""
