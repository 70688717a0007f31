"""Echo exclusion: a caller may ask to be spared the object versions that came from them.

Every version keeps where it came from (``object_versions.origin``, :mod:`allsource.store.
object_log`): the id of the source whose collector run wrote it, or of the user whose TAXII
POST did. A caller's **own origins** are

* their user id — what they POSTed to one of their group's collections;
* the id of every TAXII source of this store whose ``partner_user`` option names them — what
  this store pulled *from* them (the option already says which account the partner reads us
  with; :mod:`allsource.share.sync_push` uses it the same way).

``match[x_allsource_origin]=others`` on a manifest or objects request leaves out the versions
of those origins, in SQL, before the limit. A partner's sync sends it on its manifest walk
(:mod:`allsource.collect.taxii`), so what it got from us and then served back costs no
manifest record at all instead of one per version. It is a filter the caller asks for, not a
default: without it a collection is what the token may read, whoever wrote it — a partner
restoring its store from us, a plain ``taxii2-client`` reader, and the other members of a
sharing group (a group's members post to its collection *to share with each other*; the
exclusion is per account and per pulled source, never per group) all see everything. Servers
that do not know the filter ignore it (TAXII 2.1 §3.4.1), and the sync's manifest walk then
skips echoes as before, by version.

**Nothing owed is left out**: the filter is on the *version*. A version this store wrote
itself, of an object the caller sent (our analysts' newer ``modified``), has this store's
origin and is served; only versions whose first writer was the caller are left out, and the
caller holds those (it sent them, or we read them from it). A version stored before origins
were kept (NULL) is always served.
"""

from __future__ import annotations

import sqlalchemy as sa

from allsource.store.sql import SqlStore

__all__ = ["ORIGIN_FILTER", "OTHERS", "caller_origins", "not_from"]

#: the TAXII filter parameter, and its one value
ORIGIN_FILTER = "match[x_allsource_origin]"
OTHERS = "others"


def caller_origins(store: SqlStore, user_id: str, user_name: str) -> tuple[str, ...]:
    """The origins of the caller ``user_id`` (named ``user_name``): their user id and the ids
    of the TAXII sources whose ``partner_user`` option names them. One small read of
    ``sources`` (a store has few)."""
    pulled = sorted(s.id for s in store.list_sources()
                    if s.kind == "taxii" and s.config.get("partner_user") == user_name)
    return (user_id, *pulled)


def not_from(table: sa.Table | sa.Alias, origins: tuple[str, ...]) -> sa.ColumnElement[bool]:
    """SQL: the version did not come from any of ``origins`` (an unknown origin did not)."""
    return sa.or_(table.c.origin.is_(None), table.c.origin.not_in(list(origins)))
