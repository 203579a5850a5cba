"""Demonstration data at the seed's scale: ``flask --app consult_hub demo load``."""
