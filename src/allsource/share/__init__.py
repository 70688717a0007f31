"""Sharing: selections (selection.py) exported as STIX 2.1 (stix_bundle.py, completed by
stix_objects.py, marked by stix_markings.py) and MISP events and feeds (misp_export.py,
misp_feed.py), through one entry (exports.py); TAXII lives in share/taxii*."""
