"""Districts, streets and communities."""
