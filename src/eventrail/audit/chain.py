"""The audit trail's hash chain: each entry of an org holds the SHA-256 of its
canonical JSON, which includes the hash of the org's previous entry.

Writing (:func:`link`, from ``service._write_pending``, inside the writing
transaction): the org's chain head (``audit_chain_heads``) is locked, the entries
get the next ``seq`` numbers, each ``prev_hash`` is the hash before it and each
``row_hash`` its own; the head moves to the last one. Writers of one org queue on
that row (PostgreSQL ``SELECT ... FOR UPDATE``; SQLite's single writer), writers
of different orgs do not meet; the unique indexes on ``(org_id, seq)`` and
``(org_id, prev_hash)`` make a fork impossible to commit.

Verifying (:func:`verify_org`): the links are read in ``seq`` order, in batches,
each hash recomputed. An entry whose content changed (an UPDATE) fails its hash;
a missing ``seq`` (a DELETE) or a head beyond the last entry shows a deletion; an
entry without a link written after the chain started, or a link that does not
follow its predecessor, shows an insertion.

The canonical form (version 1) is the JSON object below with sorted keys, no
spaces, UTF-8: every column eventrail writes, ``seq`` and ``prevHash``; not the
database's ``id``. JSON columns are hashed as the values they hold (what
``json.loads`` of the stored text gives), so the hash does not depend on how a
database spells the document.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from eventrail.audit.repository import AuditReads, AuditRow, ChainRepository
from eventrail.kit.dates import now_ms
from eventrail.models import AuditEntry

VERSION = 1
GENESIS = "0" * 64  # the prev_hash of an org's first entry
BATCH = 2000


def _stored(value: Any) -> Any:
    """The value a JSON column gives back (as SQLAlchemy stores it: ``json.dumps``)."""
    return None if value is None else json.loads(json.dumps(value))


def _read(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def canonical(fields: dict[str, Any], seq: int, prev_hash: str) -> bytes:
    body = {**fields, "v": VERSION, "seq": seq, "prevHash": prev_hash}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(fields: dict[str, Any], seq: int, prev_hash: str) -> str:
    return hashlib.sha256(canonical(fields, seq, prev_hash)).hexdigest()


# The canonical form's keys, the attribute each is read from (the model's and the
# row's are named alike), and whether it is a JSON column.
_HASHED = (
    ("orgId", "org_id", False),
    ("entityType", "entity_type", False),
    ("entityId", "entity_id", False),
    ("requestId", "request_id", False),
    ("updatedBy", "updated_by", False),
    ("till", "till", True),
    ("store", "store", True),
    ("userContext", "user_context", True),
    ("victimDetails", "victim_details", True),
    ("survivorDetails", "survivor_details", True),
    ("source", "source", False),
    ("updatedByMode", "updated_by_mode", False),
    ("autoUpdateTime", "auto_update_time", False),
    ("createdOn", "created_on", False),
    ("events", "events", True),
)


def _hashed(item: AuditEntry | AuditRow, json_value: Callable[[Any], Any]) -> dict[str, Any]:
    return {
        key: json_value(getattr(item, name)) if is_json else getattr(item, name)
        for key, name, is_json in _HASHED
    }


def _entry_fields(entry: AuditEntry) -> dict[str, Any]:
    """What the chain hashes of an entry about to be written."""
    return _hashed(entry, _stored)


def row_fields(row: AuditRow) -> dict[str, Any]:
    """What the chain hashes of an entry read back (JSON columns as their text)."""
    return _hashed(row, _read)


def link(session: Session, entries: Sequence[AuditEntry]) -> None:
    """Give each entry its place in its org's chain (before they are inserted, in
    the writing transaction). Orgs are locked in id order: no deadlock between two
    transactions that write entries of several orgs."""
    repo = ChainRepository(session)
    by_org: dict[int, list[AuditEntry]] = {}
    for entry in entries:
        by_org.setdefault(entry.org_id, []).append(entry)
    now = now_ms()
    for org_id in sorted(by_org):
        seq, head = repo.lock_head(org_id, now, GENESIS)
        for entry in by_org[org_id]:
            seq += 1
            entry.seq = seq
            entry.prev_hash = head
            head = entry.row_hash = entry_hash(_entry_fields(entry), seq, head)
        repo.set_head(org_id, seq, head, now)


# -- verification -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Problem:
    kind: str  # edited | deleted | inserted
    entry_id: int | None
    seq: int | None
    detail: str

    def line(self, org_id: int) -> str:
        where = f"entry {self.entry_id}" if self.entry_id is not None else "chain"
        at = f" (seq {self.seq})" if self.seq is not None else ""
        return f"org {org_id}: {where}{at} {self.kind.upper()}: {self.detail}"


@dataclass(slots=True)
class OrgReport:
    org_id: int
    checked: int = 0
    valid: int = 0
    unchained: int = 0  # entries written before the chain (migration 20261204)
    head_seq: int = 0
    head_hash: str = GENESIS
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        first = self.problems[0] if self.problems else None
        return {
            "orgId": self.org_id,
            "checked": self.checked,
            "valid": self.valid,
            "unchained": self.unchained,
            "headSeq": self.head_seq,
            "headHash": self.head_hash,
            "ok": self.ok,
            "firstBad": (
                None
                if first is None
                else {
                    "kind": first.kind,
                    "entryId": first.entry_id,
                    "seq": first.seq,
                    "detail": first.detail,
                }
            ),
            "problems": [p.line(self.org_id) for p in self.problems],
        }


def verify_org(
    reads: AuditReads,
    org_id: int,
    *,
    from_ms: int | None = None,
    progress: Callable[[int], None] | None = None,
    batch: int = BATCH,
) -> OrgReport:
    """Walk the org's chain in ``seq`` order, recomputing each hash; every problem
    found (the walk carries on past the first, like ``aws cloudtrail validate-logs``).
    With ``from_ms``, the walk starts at the first entry written from then, taking its
    ``prev_hash`` on trust."""
    report = OrgReport(org_id)
    head = reads.chain_head(org_id)
    pruned_seq = head.pruned_seq if head else 0
    expect_seq, expect_prev = pruned_seq + 1, head.pruned_hash if head else GENESIS
    trust_first = from_ms is not None
    last_seq, last_hash = pruned_seq, expect_prev
    for rows in reads.links(org_id, after_seq=pruned_seq, from_ms=from_ms, batch=batch):
        for row in rows:
            seq, prev = int(row.seq or 0), row.prev_hash or ""
            report.checked += 1
            good = True
            if trust_first:
                trust_first = False
                expect_seq, expect_prev = seq, prev
            if seq > expect_seq:
                missing = seq - expect_seq
                report.problems.append(
                    Problem(
                        "deleted",
                        row.entry.id,
                        seq,
                        f"{missing} entr{'y' if missing == 1 else 'ies'} before it "
                        f"(seq {expect_seq}"
                        + (f"..{seq - 1}" if missing > 1 else "")
                        + ") missing from the chain",
                    )
                )
                good = False
            elif prev != expect_prev:
                report.problems.append(
                    Problem(
                        "inserted",
                        row.entry.id,
                        seq,
                        "its prev_hash is not the hash of the entry before it "
                        "(inserted or re-linked out of band)",
                    )
                )
                good = False
            computed = entry_hash(row_fields(row.entry), seq, prev)
            if computed != row.row_hash:
                report.problems.append(
                    Problem(
                        "edited",
                        row.entry.id,
                        seq,
                        "its content does not match its hash (changed after it was written)",
                    )
                )
                good = False
            if good:
                report.valid += 1
            # Carry on from what the stored row claims, so one bad entry is reported once.
            expect_seq, expect_prev = seq + 1, row.row_hash or computed
            last_seq, last_hash = seq, row.row_hash or computed
        if progress is not None:
            progress(len(rows))
    if head is not None:
        report.head_seq, report.head_hash = head.seq, head.head_hash
        if head.seq > last_seq:
            report.problems.append(
                Problem(
                    "deleted",
                    None,
                    head.seq,
                    f"the chain head is at seq {head.seq} but the last entry is seq {last_seq}: "
                    "the newest entries were deleted",
                )
            )
        elif head.seq < last_seq or (head.seq == last_seq and head.head_hash != last_hash):
            report.problems.append(
                Problem(
                    "inserted",
                    None,
                    last_seq,
                    f"the entries end at seq {last_seq} but the chain head says seq {head.seq}: "
                    "entries were added out of band",
                )
            )
    total, late, first_late = reads.unchained(org_id)
    report.unchained = total - late
    if late:
        report.problems.insert(
            0,
            Problem(
                "inserted",
                first_late,
                None,
                f"{late} entr{'y has' if late == 1 else 'ies have'} no link although "
                "written after the chain started (inserted outside eventrail)",
            ),
        )
    report.problems.sort(key=lambda p: (p.seq is None and p.entry_id is None, p.seq or 0))
    return report


def verify(
    reads: AuditReads,
    org_ids: Iterable[int],
    *,
    from_ms: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[OrgReport]:
    return [verify_org(reads, org_id, from_ms=from_ms, progress=progress) for org_id in org_ids]
