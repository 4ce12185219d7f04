"""TVBox integration: per-user tokens, the config JSON, the Douban category façade, a filtering CMS proxy."""
