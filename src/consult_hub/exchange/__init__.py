"""Spreadsheet import and export, and the open-data archive."""
