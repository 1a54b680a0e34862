"""Identity: local users, groups, API keys and the ``Principal`` every request acts as."""
