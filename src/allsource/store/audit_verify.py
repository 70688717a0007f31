"""Checking the audit chain: one streaming pass that names the first bad row.

The events are read in keyset pages (``seq > last ORDER BY seq LIMIT page``, the primary-key
index), so memory is bounded by one page whatever the length of the chain, and each row is
read and hashed once. For every row the walk checks, in this order:

1. **seq** follows the previous one (a gap means rows were deleted);
2. **prev_hash** is the previous row's hash; when it is not, the row names the bad one: chained
   to the row two back, the row before it was inserted; still matching its own recorded
   predecessor, the row before it was replaced; otherwise the row itself was moved or edited;
3. **hash** equals ``SHA-256(prev_hash ‖ canonical(row))`` (a mismatch means an edited field);
4. a **checkpoint** at this seq holds the same hash and a valid Ed25519 signature by a trusted
   key (a rebuilt chain or a forged signature fails here).

After the last row: a checkpoint or an anchor beyond it, or an ``audit_head`` that counts more
rows, means the tail was cut off. The walk stops at the first problem (what follows a broken
link cannot be trusted anyway) and reports it with its seq and the reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from allsource.store import schema as t
from allsource.store.audit import GENESIS, Head, canonical, chain_hash, checkpoint_message
from allsource.store.audit_keys import signature_ok

__all__ = ["PAGE", "Problem", "VerifyReport", "verify"]

#: events read per query
PAGE = 20_000


@dataclass(frozen=True, slots=True)
class Problem:
    seq: int
    reason: str


@dataclass(slots=True)
class VerifyReport:
    events: int = 0
    checkpoints: int = 0
    last_checkpoint: int = 0
    head: Head = field(default_factory=lambda: Head(0, GENESIS))
    problem: Problem | None = None
    rows_read: int = 0
    max_rows_held: int = 0
    bytes_hashed: int = 0

    @property
    def ok(self) -> bool:
        return self.problem is None

    @property
    def unsigned_tail(self) -> int:
        """Events after the last checkpoint: protected only by an exported anchor."""
        return self.head.seq - self.last_checkpoint


_E = t.audit_events
_COLS = (_E.c.seq, _E.c.at, _E.c.actor, _E.c.action, _E.c.target, _E.c.tlp,
         _E.c.classification, _E.c.compartments, _E.c.count, _E.c.detail, _E.c.prev_hash,
         _E.c.hash)


def _checkpoint_problem(cp: Sequence[Any], row_hash: str, trusted: frozenset[str]
                        ) -> str | None:
    seq, hash_, at, public_key, signature = cp
    if hash_ != row_hash:
        return (f"checkpoint at seq {seq} signed hash {hash_[:12]}…, the chain has "
                f"{row_hash[:12]}… there: rows up to seq {seq} were rewritten")
    if not trusted:
        return (f"checkpoint at seq {seq} cannot be checked: no trusted public key "
                "(set the audit key, or pass --public-key)")
    if public_key not in trusted:
        return f"checkpoint at seq {seq} is signed by an untrusted key {public_key[:12]}…"
    if not signature_ok(public_key, signature, checkpoint_message(seq, hash_, at)):
        return f"checkpoint at seq {seq}: the signature does not verify (forged or altered)"
    return None


def verify(conn: Connection, *, trusted_keys: Iterable[str] = (),
           anchor: Head | None = None, page: int = PAGE) -> VerifyReport:
    """Walk the whole chain on ``conn`` (see the module docstring)."""
    trusted = frozenset(k.lower() for k in trusted_keys)
    report = VerifyReport()
    h = t.audit_head
    counted = conn.execute(sa.select(h.c.seq).where(h.c.id == 1)).scalar_one_or_none() or 0
    c = t.audit_checkpoints
    cp_cols = (c.c.seq, c.c.hash, c.c.at, c.c.public_key, c.c.signature)
    prev, prev_prev, expected, last_at = GENESIS, GENESIS, 1, None
    # Appends after `counted` was read are not this run's business: stop there.
    while True:
        rows = conn.execute(sa.select(*_COLS).where(_E.c.seq >= expected, _E.c.seq <= counted)
                            .order_by(_E.c.seq).limit(page)).all()
        report.rows_read += len(rows)
        report.max_rows_held = max(report.max_rows_held, len(rows))
        if not rows:
            break
        cps = {r[0]: r for r in conn.execute(sa.select(*cp_cols).where(
            c.c.seq >= expected, c.c.seq <= rows[-1][0]))}
        for row in rows:
            seq = row[0]
            if seq != expected:
                report.problem = Problem(expected, f"seq {expected} is missing: rows "
                                         f"{expected}..{seq - 1} were deleted")
                return report
            enc = canonical(seq, row[1], row[2], row[3], row[4], row[5], row[6], row[7],
                            row[8], row[9])
            report.bytes_hashed += len(enc)
            recorded_prev, row_hash = row[10], row[11]
            if recorded_prev != prev:
                report.problem = _link_problem(seq, recorded_prev, prev_prev,
                                               chain_hash(recorded_prev, enc) == row_hash)
                return report
            if chain_hash(prev, enc) != row_hash:
                report.problem = Problem(seq, f"seq {seq}'s fields do not match its hash: "
                                              "the row was edited")
                return report
            cp = cps.get(seq)
            if cp is not None:
                why = _checkpoint_problem(cp, row_hash, trusted)
                if why is not None:
                    report.problem = Problem(seq, why)
                    return report
                report.checkpoints += 1
                report.last_checkpoint = seq
            if anchor is not None and seq == anchor.seq and anchor.hash != row_hash:
                report.problem = Problem(seq, f"seq {seq} differs from the anchored head "
                                              "exported earlier: the chain was rewritten")
                return report
            prev_prev, prev, last_at = prev, row_hash, row[1]
            expected += 1
            report.events += 1
    last = expected - 1
    report.head = Head(last, prev, last_at)
    report.problem = _tail_problem(conn, last, counted, anchor)
    return report


def _link_problem(seq: int, recorded_prev: str, prev_prev: str, own_ok: bool) -> Problem:
    if seq == 1:
        return Problem(1, "seq 1 does not start the chain: rows before it were removed and "
                          "the rest renumbered")
    before = seq - 1
    if recorded_prev == prev_prev:
        return Problem(before, f"seq {before} was inserted: seq {seq} is chained directly "
                               f"to seq {before - 1}")
    if own_ok:
        return Problem(before, f"seq {before} was replaced: seq {seq} is chained to a "
                               "different row there")
    return Problem(seq, f"seq {seq} does not follow seq {before} and does not match its own "
                        "hash: it was moved, renumbered or edited")


def _tail_problem(conn: Connection, last: int, counted: int,
                  anchor: Head | None) -> Problem | None:
    c = t.audit_checkpoints
    beyond = conn.execute(sa.select(sa.func.min(c.c.seq)).where(c.c.seq > last)).scalar()
    if beyond is not None:
        return Problem(last + 1, f"the chain ends at seq {last} but a checkpoint signs seq "
                                 f"{beyond}: the tail was cut off")
    if anchor is not None and anchor.seq > last:
        return Problem(last + 1, f"the chain ends at seq {last} but the anchored head is seq "
                                 f"{anchor.seq}: the tail was cut off")
    if counted > last:
        return Problem(last + 1, f"the chain ends at seq {last} but its head counts {counted} "
                                 "events: the tail was cut off")
    more = conn.execute(sa.select(sa.func.min(_E.c.seq)).where(_E.c.seq > counted)).scalar()
    if more is None:
        return None
    # rows appended since `counted` was read are legitimate when the live head counts them
    live = conn.execute(sa.select(t.audit_head.c.seq)).scalar_one()
    if more > live:
        return Problem(int(more), f"seq {more} lies beyond the chain head (seq {live}): "
                                  "it was added outside the audit writer")
    return None
