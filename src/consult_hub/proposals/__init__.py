"""Proposals (提案): submitted by members or bodies, reviewed, handled by departments, rated."""
