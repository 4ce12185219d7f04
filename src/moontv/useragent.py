"""The one browser User-Agent the server sends upstream (CMS sources, CDNs, Douban, Bangumi), unless a
source configures its own."""

BROWSER_USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/142.0.0.0 Safari/537.36"
)
