"""The TAXII 2.1 server's logic: collections, pages, cursors and submissions (the HTTP routes
are :mod:`allsource.api.routes.taxii`).

**What is served.** Every stored version of every object and relationship
(:mod:`allsource.store.object_log`), completed to valid STIX 2.1 by
:func:`allsource.share.stix_objects.complete` and marked with its TLP 2.0 definition. A
collection is a *sharing group* (:mod:`allsource.share.taxii.collections`): it holds what is
releasable to that group, and every page is further cut, in SQL, to what the caller's token may
read — the store's one access rule (:func:`allsource.store.access.readable` on the version's
own marking, :func:`allsource.store.derived.visible` on the object it belongs to) — so TLP:RED
never leaves and AMBER+STRICT (released to named organisations) reaches only their members.

**Paging** (:mod:`allsource.share.taxii.pages`) walks the ingest sequence: a page is the next
``limit`` visible versions with ``seq`` above the cursor, in ``seq`` order, and ``next`` is
that cursor, opaque to the client (:mod:`allsource.share.taxii.cursor`). Nothing is kept
between requests, so any server process answers any page, a restart loses nothing, and since
``seq`` is handed out in commit order, a client paging while objects are added sees each
version exactly once: what commits during its walk lands above its cursor.
"""

from __future__ import annotations

from allsource.share.taxii.collections import Collection, collection_of, collections_for
from allsource.share.taxii.cursor import decode_cursor, encode_cursor
from allsource.share.taxii.pages import Filters, Page, TaxiiInputError, manifest_page, objects_page

__all__ = ["Collection", "Filters", "Page", "TaxiiInputError", "collection_of",
           "collections_for", "decode_cursor", "encode_cursor", "manifest_page",
           "objects_page"]
