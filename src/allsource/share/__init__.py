"""Sharing: STIX 2.1 marking resolution now; STIX/TAXII/MISP export and sync come later."""
