"""Users, login sessions, API tokens, failed-login accounting."""
