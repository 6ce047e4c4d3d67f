"""Reads of the contacts app (house style: writes are services, reads are selectors)."""
