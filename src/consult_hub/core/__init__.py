"""Pieces every feature shares: the declarative base, types, time and errors."""
