"""Open311 GeoReport v2 endpoints for residents' problems."""
