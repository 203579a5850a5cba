"""iCal and Atom feeds."""
