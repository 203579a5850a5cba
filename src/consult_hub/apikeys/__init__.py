"""API keys of integrating systems (a 12345 hotline, a district's grid system) for Open311."""
