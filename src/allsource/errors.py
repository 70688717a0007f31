"""Exceptions raised to users. The CLI prints them as one line; ``--debug`` shows tracebacks.

    AllsourceError
    ├── ConfigError          bad settings or config file
    ├── SourceError          unknown source, duplicate name, bad location
    ├── StoreError           database unreachable, migration failed
    ├── FetchError           an outbound request failed
    │   └── BlockedAddressError   the URL resolves to a private/loopback/link-local address
    └── InputError           an input is malformed, oversized, or of the wrong kind
"""

from __future__ import annotations


class AllsourceError(Exception):
    """Base of every error meant for a user (printed without a traceback)."""


class ConfigError(AllsourceError):
    pass


class SourceError(AllsourceError):
    pass


class StoreError(AllsourceError):
    pass


class FetchError(AllsourceError):
    pass


class BlockedAddressError(FetchError):
    pass


class InputError(AllsourceError):
    pass
