"""The residents' site: no login, no personal data."""
