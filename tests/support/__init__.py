"""Helpers shared by the test folders: factories, worlds, page helpers, the access matrix."""
