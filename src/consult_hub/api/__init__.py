"""JSON API under /api/v1, with an OpenAPI document."""
