"""The processing pipeline (docs/events.md), run over a batch of queued requests.

Each step runs over the batch's still-live items, with one bulk lookup per
step rather than one query per event; the first failing step decides an
item's status and message, and the item leaves the batch. What survives every
step is an ``EVENT_SUCCESS`` with its stored record.

Steps, in order: transformer mapping, event name, field validation, group
exists, customer (found, or created with ``addCustomerIfNotExists``), customer
in the group, uniqueness.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
from pydantic import ValidationError
from sqlalchemy.orm import Session

from eventrail.audit.service import MASK, ChangeContext
from eventrail.customers import service as customers
from eventrail.customers.schemas import CustomerCreate, IdentifierIn, ProfileIn
from eventrail.errors import EventrailError
from eventrail.events import fields as f
from eventrail.events.service import DEFAULT_TRANSFORMER
from eventrail.ingest.queue import VERDICT_INVALID, VERDICT_UNAUTHORIZED, Queued
from eventrail.kit.dates import format_iso, parse_event_datetime, zone
from eventrail.models import EventDefinition, Org, Till, TransformerMapping, Webhook
from eventrail.processing import statuses as st
from eventrail.processing.repository import ProcessingRepository

log = logging.getLogger("eventrail.processing")

_RESERVED_KEYS = frozenset({"event_name", "orgResolver"})
# Bounds of the values that reach a query, from the columns they are compared with:
# customer_identifiers.value (and the customer API's identifiers), tills.code,
# user_groups.external_id; ids are BIGINT. A longer value cannot match; refusing it
# here keeps it from every query and every insert.
MAX_IDENTIFIER = 255
MAX_CODE = 100
_MAX_ID_DIGITS = 19


def _db_id(text: str) -> int | None:
    """A positive BIGINT id written in ASCII digits, or None (never int() of 5,000 digits)."""
    if not (text.isascii() and text.isdigit()) or len(text) > _MAX_ID_DIGITS:
        return None
    value = int(text)
    return value if 0 < value < 2**63 else None


@dataclass(frozen=True, slots=True)
class EventSpec:
    """A definition, parsed once per batch."""

    definition_id: int
    name: str
    label: str | None
    emf: bool
    enabled: bool
    fields: tuple[f.FieldSpec, ...]
    by_name: dict[str, f.FieldSpec]
    customer: f.FieldSpec
    unique: tuple[f.FieldSpec, ...]
    psi_names: tuple[str, ...]
    psi_json: str  # psi_names as stored: a JSON array
    verified: bool  # an event of it has already succeeded

    @classmethod
    def of(cls, definition: EventDefinition) -> EventSpec:
        specs = tuple(f.parse_field(item) for item in definition.fields)
        customer = next(s for s in specs if s.type == "CUSTOMER")
        return cls(
            definition_id=definition.id,
            name=definition.event_name,
            label=definition.label,
            emf="EMFConsumer" in definition.actions,
            enabled=definition.enabled,
            fields=specs,
            by_name={s.name: s for s in specs},
            customer=customer,
            unique=tuple(s for s in specs if s.unique),
            psi_names=tuple(s.name for s in specs if s.psi),
            psi_json=orjson.dumps([s.name for s in specs if s.psi]).decode(),
            verified=definition.verified,
        )


@dataclass(slots=True)
class Item:
    """One queued request on its way through the pipeline."""

    request: Queued
    webhook: Webhook | None
    webhook_till: Till | None
    org: Org | None
    org_id: int = 0  # where the event is processed: the webhook's org, or a child (orgResolver)
    parent_org_id: int = -1
    routed_till: Till | None = None
    field_map: list[dict[str, Any]] | None = None  # a mapping transformer's, if any
    payload: dict[str, Any] | None = None
    flat: dict[str, Any] = field(default_factory=dict)
    event_name: str | None = None
    spec: EventSpec | None = None
    values: dict[str, str] = field(default_factory=dict)
    till_id: int | None = None
    till_code: str | None = None
    ou_till_code: str | None = None
    groups: list[tuple[str, int | None]] = field(default_factory=list)
    customer_value: str = ""
    customer_id: int | None = None
    event_ms: int | None = None
    unique_id: str = ""
    status: str | None = None
    message: str = ""
    done: bool = False
    record: dict[str, Any] | None = None
    failed_step: str | None = None  # the step that decided a failure (dry runs show it)

    def fail(self, status: str | None, message: str) -> None:
        self.status, self.message, self.done = status, message, True


@dataclass
class BatchResult:
    logs: list[dict[str, Any]]
    records: list[dict[str, Any]]
    verified: set[tuple[int, int]]  # (org_id, definition id)
    outcomes: dict[str, tuple[str | None, str]]
    # The step that failed, per request id, for the failures (dry runs show it).
    steps: dict[str, str] = field(default_factory=dict)

    def extend(self, other: BatchResult) -> BatchResult:
        self.logs.extend(other.logs)
        self.records.extend(other.records)
        self.verified |= other.verified
        self.outcomes.update(other.outcomes)
        self.steps.update(other.steps)
        return self


def set_aside_log(request: Queued, now: int, reason: str | None) -> dict[str, Any]:
    """The log entry of a request whose processing failed (EVENT_PROCESSING_FAILED): in
    the webhook's org, with the body as received, and the step that failed."""
    message = st.processing_failed(reason) if reason else st.PROCESSING_FAILED_MESSAGE
    return {
        "id": request.request_id,
        "org_id": request.org_id,
        "parent_org_id": -1,
        "webhook_id": request.webhook_id,
        "start_time": request.received_at,
        "seq": request.id,
        "response_time": max(0, min(now - request.received_at, 2**31 - 1)),
        "status": st.EVENT_PROCESSING_FAILED,
        "event_name": None,
        "input_request": request.body,
        "input_request_masked": None,
        "message": message,
        "replay_of": request.replay_of,
    }


def _get_path(payload: Any, path: str) -> Any:
    """A dotted path into a JSON document (``data.customer.mobile``, ``items.0.sku``)."""
    node = payload
    for part in path.split("."):
        if isinstance(node, dict):
            if part not in node:
                return None
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def _resolver(value: Any) -> tuple[str | None, int | None, str | None]:
    """(problem, child org id, till code) of an orgResolver object."""
    if not isinstance(value, dict):
        return "must be an object", None, None
    kind = value.get("type")
    if not isinstance(kind, str) or kind.strip().upper() != "PARENT_CHILD_ORG":
        return "type must be PARENT_CHILD_ORG", None, None
    child = value.get("childOrgId")
    if isinstance(child, str):
        child = _db_id(child.strip())
    if isinstance(child, bool) or not isinstance(child, int) or not 0 < child < 2**31:
        return "childOrgId must be an org id", None, None
    till = value.get("tillCode")
    if not isinstance(till, str) or not till.strip() or len(till.strip()) > MAX_CODE:
        return "tillCode must name a till of the child org", None, None
    return None, child, till.strip()


_CLEAR_IDENTIFIER_TYPES = frozenset({"externalId", "userId"})


def _masked_input(item: Item, specs: dict[tuple[int, str], EventSpec | None]) -> str | None:
    """The body with its PSI values as ***** (isPsiData fields, and the customer
    identifier unless an externalId or a customer id), or None if it holds none.
    An entry refused before its event was recognised is masked by the definition
    its event name names, when there is one."""
    spec = item.spec
    if spec is None and item.event_name is not None:
        spec = specs.get((item.org_id, item.event_name))
    if spec is None or item.payload is None:
        return None
    names = set(spec.psi_names)
    if spec.customer.identifier_type not in _CLEAR_IDENTIFIER_TYPES:
        names.add(spec.customer.name)
    if item.field_map is None:
        paths = [[name] for name in names]
    else:
        paths = [m["fieldName"].split(".") for m in item.field_map if m["eventFieldName"] in names]
    if not paths:
        return None
    document = orjson.loads(item.request.body)
    masked = False
    for path in paths:
        node: Any = document
        for part in path[:-1]:
            if isinstance(node, dict):
                node = node.get(part)
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                node = None
        last = path[-1]
        if isinstance(node, dict) and node.get(last) is not None:
            node[last] = MASK
            masked = True
        elif isinstance(node, list) and last.isdigit() and int(last) < len(node):
            node[int(last)] = MASK
            masked = True
    return orjson.dumps(document).decode() if masked else None


def _unique_id(spec: EventSpec, customer_value: str, flat: dict[str, Any]) -> str:
    parts = [f"{spec.name}_{customer_value}"]
    parts.extend(_as_posted(flat.get(s.name)) for s in spec.unique)
    return hashlib.md5("_".join(parts).encode(), usedforsecurity=False).hexdigest().upper()


def _as_posted(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return orjson.dumps(value).decode() if isinstance(value, dict | list) else str(value)


def _spec(definition: EventDefinition) -> EventSpec | None:
    """A definition, parsed; None for one that cannot be (written outside the API):
    its events are set aside, the org's other events go on."""
    try:
        return EventSpec.of(definition)
    except Exception as exc:
        log.error(
            "definition %s of org %s cannot be read (%s)",
            definition.event_id,
            definition.org_id,
            type(exc).__name__,
        )
        return None


@dataclass(frozen=True, slots=True)
class OrgConfig:
    """What processing reads of one org, as of its ``config_versions`` counter."""

    version: int
    org: Org | None
    webhooks: dict[str, tuple[Webhook, Till]]
    specs: dict[str, EventSpec | None]  # by event name
    mappings: dict[str, TransformerMapping]  # by transformer type, lower-case


class ConfigCache:
    """The orgs' configuration kept between batches (by a processor, for all its
    threads): a batch reads the orgs' ``config_versions`` counters, one short
    query, and reads the configuration again only of an org whose counter moved
    since it was kept. The counters are kept by triggers in the transaction of every
    change (migration 20261205_0021), so a batch never uses a configuration older
    than the changes committed before it began. The objects kept are detached from
    their session and only read."""

    def __init__(self) -> None:
        self._orgs: dict[int, OrgConfig] = {}
        self._lock = threading.Lock()

    def of(self, repo: ProcessingRepository, org_ids: Iterable[int]) -> dict[int, OrgConfig]:
        wanted = sorted(set(org_ids))
        if not wanted:
            return {}
        # Read before the configuration: a change committed in between leaves the
        # kept version behind the counter, and the next batch reads it again.
        versions = repo.config_versions(wanted)
        with self._lock:
            found = {
                o: c for o in wanted if (c := self._orgs.get(o)) and c.version == versions.get(o, 0)
            }
        stale = [o for o in wanted if o not in found]
        if stale:
            loaded = self._load(repo, stale, versions)
            with self._lock:
                self._orgs.update(loaded)
            found.update(loaded)
        return found

    @staticmethod
    def _load(
        repo: ProcessingRepository, org_ids: list[int], versions: dict[int, int]
    ) -> dict[int, OrgConfig]:
        orgs = repo.orgs(org_ids)
        configs = {o: OrgConfig(versions.get(o, 0), orgs.get(o), {}, {}, {}) for o in org_ids}
        for webhook_id, (webhook, till) in repo.webhooks_of(org_ids).items():
            configs[webhook.org_id].webhooks[webhook_id] = (webhook, till)
        for definition in repo.definitions(org_ids):
            configs[definition.org_id].specs[definition.event_name] = _spec(definition)
        for mapping in repo.mappings(org_ids):
            configs[mapping.org_id].mappings[mapping.transformer_type.lower()] = mapping
        return configs


class BatchPipeline:
    """Runs one batch; all SQL goes through the repository, in the caller's transaction.
    ``config``: the orgs' configuration kept between batches (a new one reads all
    of it)."""

    def __init__(self, session: Session, now_ms: int, config: ConfigCache | None = None) -> None:
        self.session = session
        self.repo = ProcessingRepository(session)
        self.now = now_ms
        self.config = config if config is not None else ConfigCache()
        self._configs: dict[int, OrgConfig] = {}  # this batch's, read once
        # The step running, for the log entry of a request that makes it fail.
        self.step = "loading"

    # -- loading ---------------------------------------------------------------
    def _configs_of(self, org_ids: Iterable[int]) -> dict[int, OrgConfig]:
        """The orgs' configuration for this batch: the counters are read once for the
        requests' orgs, and again only for an org first named later (a child org an
        event is routed to)."""
        wanted = set(org_ids)
        new = wanted - self._configs.keys()
        if new:
            self._configs.update(self.config.of(self.repo, new))
        return {org_id: self._configs[org_id] for org_id in wanted}

    def _items(self, requests: list[Queued]) -> list[Item]:
        configs = self._configs_of(r.org_id for r in requests)
        webhooks: dict[str, tuple[Webhook, Till]] = {}
        for config in configs.values():
            webhooks.update(config.webhooks)
        # A webhook not among its request's org's (a replay of an event routed to a
        # child org is queued in the child): read by its id.
        missing = {r.webhook_id for r in requests if r.webhook_id not in webhooks}
        if missing:
            webhooks.update(self.repo.webhooks(missing))
        items = []
        for request in requests:
            webhook, till = webhooks.get(request.webhook_id, (None, None))
            org = configs[request.org_id].org
            items.append(Item(request, webhook, till, org, org_id=request.org_id))
        return items

    def _specs(self, org_ids: Iterable[int]) -> dict[tuple[int, str], EventSpec | None]:
        """The orgs' definitions, parsed, by (org, event name)."""
        return {
            (org_id, name): spec
            for org_id, config in self._configs_of(org_ids).items()
            for name, spec in config.specs.items()
        }

    def _mappings(self, org_ids: Iterable[int]) -> dict[tuple[int, str], TransformerMapping]:
        return {
            (org_id, kind): mapping
            for org_id, config in self._configs_of(org_ids).items()
            for kind, mapping in config.mappings.items()
        }

    # -- the batch --------------------------------------------------------------
    def run(self, requests: list[Queued]) -> BatchResult:
        items = self._items(requests)
        self._enter("verdict", items)
        for item in items:
            self._verdict(item)
        live = [i for i in items if not i.done]
        self._enter("transformer", items)
        self._transform(live, self._mappings({i.request.org_id for i in live}))
        self._enter("orgResolver", items)
        self._route(self._live(live))
        self._enter("event name", items)
        specs = self._specs({i.org_id for i in items})
        self._name(self._live(live), specs)
        self._enter("field validation", items)
        self._validate(self._live(live))
        self._enter("group", items)
        self._group_exists(self._live(live))
        self._enter("customer", items)
        self._customer(self._live(live))
        self._enter("group membership", items)
        self._membership(self._live(live))
        self._enter("uniqueness", items)
        self._succeed(self._live(live))
        self._enter("log entry", items)
        return self._result(items, specs)

    def _enter(self, step: str, items: list[Item]) -> None:
        """Start ``step``; the items the previous step failed are marked with its name."""
        for item in items:
            if item.done and item.failed_step is None and item.status != st.EVENT_SUCCESS:
                item.failed_step = self.step
        self.step = step

    @staticmethod
    def _live(items: list[Item]) -> list[Item]:
        return [i for i in items if not i.done]

    def _verdict(self, item: Item) -> None:
        request = item.request
        if item.org is None or item.webhook is None or item.webhook_till is None:
            item.fail(st.EVENT_PROCESSING_FAILED, "The webhook or its org no longer exists")
            return
        if request.verdict == VERDICT_UNAUTHORIZED:
            item.payload = self._parse(request.body)  # for its event name, and masking
            name = item.payload.get("event_name") if item.payload is not None else None
            item.event_name = name if isinstance(name, str) else None
            item.fail(None, st.UNAUTHORIZED_MESSAGE)
            return
        if request.verdict == VERDICT_INVALID:
            item.fail(st.INVALID_PAYLOAD, request.detail or "Invalid payload")
            return
        payload = self._parse(request.body)
        if payload is None:
            item.fail(st.INVALID_PAYLOAD, "Invalid payload: the request body is not a JSON object")
            return
        item.payload = payload

    @staticmethod
    def _parse(body: str) -> dict[str, Any] | None:
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError:
            return None
        return parsed if isinstance(parsed, dict) else None

    # -- 0. connected orgs: orgResolver -----------------------------------------
    def _route(self, items: list[Item]) -> None:
        """A payload with ``orgResolver`` posted to a parent's webhook is processed in
        the named child org, attributed to the child's till."""
        wanted: dict[int, dict[str, Any]] = {}
        for item in items:
            assert item.payload is not None
            resolver = item.payload.get("orgResolver")
            if resolver is None:
                continue
            problem, child_id, till_code = _resolver(resolver)
            if problem is not None:
                item.fail(
                    st.EVENT_FIELD_VALIDATION_FAILED, st.invalid_field("orgResolver", problem)
                )
                continue
            assert child_id is not None
            assert till_code is not None
            wanted[id(item)] = {"child": child_id, "till": till_code}
        if not wanted:
            return
        children = self.repo.orgs(w["child"] for w in wanted.values())
        codes: dict[int, set[str]] = defaultdict(set)
        for w in wanted.values():
            codes[w["child"]].add(w["till"])
        tills = {org_id: self.repo.tills_by_code(org_id, c) for org_id, c in codes.items()}
        for item in items:
            route = wanted.get(id(item))
            if route is None:
                continue
            child = children.get(route["child"])
            if child is None or child.parent_org_id != item.request.org_id:
                item.fail(
                    st.EVENT_FIELD_VALIDATION_FAILED,
                    st.invalid_field(
                        "orgResolver", f"org {route['child']} is not a child of this org"
                    ),
                )
                continue
            till = tills.get(child.id, {}).get(route["till"])
            if till is None:
                item.fail(
                    st.EVENT_FIELD_VALIDATION_FAILED,
                    st.invalid_field(
                        "orgResolver", f"no till {route['till']} in child org {child.id}"
                    ),
                )
                continue
            item.parent_org_id = item.request.org_id
            item.org_id, item.org, item.routed_till = child.id, child, till

    # -- 1. transformer ---------------------------------------------------------
    def _transform(
        self, items: list[Item], mappings: dict[tuple[int, str], TransformerMapping]
    ) -> None:
        for item in items:
            assert item.payload is not None
            assert item.webhook is not None
            transformer = item.webhook.transformer_type
            if transformer == DEFAULT_TRANSFORMER:
                if "event_name" not in item.payload:
                    item.fail(st.INVALID_META_TRANSFORMER_MAPPINGS, st.NO_MAPPING_MESSAGE)
                    continue
                item.flat = item.payload
            else:
                # The webhook, and so its transformer's mapping, are the webhook org's.
                mapping = mappings.get((item.request.org_id, transformer.lower()))
                flat = self._map(item.payload, mapping) if mapping is not None else None
                if flat is None:
                    item.fail(st.INVALID_META_TRANSFORMER_MAPPINGS, st.NO_MAPPING_MESSAGE)
                    continue
                assert mapping is not None
                item.flat = flat
                item.field_map = mapping.field_mappings.get(flat["event_name"])
            name = item.flat.get("event_name")
            item.event_name = name if isinstance(name, str) else _as_posted(name)

    @staticmethod
    def _map(payload: dict[str, Any], mapping: TransformerMapping) -> dict[str, Any] | None:
        foreign = _get_path(payload, mapping.name_path)
        if foreign is None or isinstance(foreign, dict | list):
            return None
        foreign_name = _as_posted(foreign)
        name = mapping.value_map.get(foreign_name, foreign_name)
        field_map = mapping.field_mappings.get(name)
        if field_map is None:
            return None
        flat: dict[str, Any] = {"event_name": name}
        for key in ("eventDateTime", "external_event_id", "orgResolver"):
            if key in payload:
                flat[key] = payload[key]
        for item in field_map:
            value = _get_path(payload, item["fieldName"])
            if value is not None:
                flat[item["eventFieldName"]] = value
        return flat

    # -- 2. event name ----------------------------------------------------------
    def _name(self, items: list[Item], specs: dict[tuple[int, str], EventSpec | None]) -> None:
        for item in items:
            name = item.event_name or ""
            key = (item.org_id, name)
            if key in specs and specs[key] is None:
                item.fail(
                    st.EVENT_PROCESSING_FAILED,
                    st.processing_failed("event name step: its definition cannot be read"),
                )
                continue
            spec = specs.get(key)
            if spec is None or not spec.enabled:
                item.fail(st.INVALID_EVENT_NAME, st.invalid_event_name(name))
                continue
            item.spec = spec

    # -- 3. field validation ----------------------------------------------------
    def _validate(self, items: list[Item]) -> None:
        codes: dict[int, set[str]] = defaultdict(set)
        for item in items:
            assert item.spec is not None
            for spec in item.spec.fields:
                raw = item.flat.get(spec.name)
                if spec.type == "TILLCODE" and not f.is_empty(raw) and isinstance(raw, str | int):
                    codes[item.org_id].add(str(raw).strip())
        tills = {
            org_id: self.repo.tills_by_code(org_id, wanted) for org_id, wanted in codes.items()
        }
        for item in items:
            self._validate_one(item, tills.get(item.org_id, {}))

    def _validate_one(self, item: Item, tills: dict[str, Till]) -> None:
        spec = item.spec
        assert spec is not None
        # A routed event belongs to the child: its default till is the resolver's.
        default_till = item.routed_till or item.webhook_till
        assert default_till is not None
        item.till_id, item.till_code = default_till.id, default_till.code
        if "eventDateTime" in item.flat and not f.is_empty(item.flat["eventDateTime"]):
            item.event_ms = parse_event_datetime(item.flat["eventDateTime"])
            if item.event_ms is None:
                item.fail(
                    st.EVENT_FIELD_VALIDATION_FAILED,
                    st.invalid_field("eventDateTime", "not a date in a supported format"),
                )
                return
        for field_spec in spec.fields:
            raw = item.flat.get(field_spec.name)
            if f.is_empty(raw):
                if field_spec.required and field_spec.type != "CUSTOMER":
                    item.fail(
                        st.EVENT_FIELD_VALIDATION_FAILED,
                        st.invalid_field(field_spec.name, "is required"),
                    )
                    return
                continue
            if field_spec.type == "CUSTOMER":
                # Looked up (or registered) by the customer step; no identifier is longer.
                scalar = not isinstance(raw, dict | list | bool)
                if scalar and len(_as_posted(raw).strip()) > MAX_IDENTIFIER:
                    item.fail(
                        st.EVENT_FIELD_VALIDATION_FAILED,
                        st.invalid_field(
                            field_spec.name, f"longer than {MAX_IDENTIFIER} characters"
                        ),
                    )
                    return
                continue
            if (
                field_spec.type in ("TILLCODE", "GROUPID")
                and isinstance(raw, str | int | float)
                and len(_as_posted(raw)) > MAX_CODE
            ):
                item.fail(
                    st.EVENT_FIELD_VALIDATION_FAILED,
                    st.invalid_field(field_spec.name, f"longer than {MAX_CODE} characters"),
                )
                return
            if field_spec.type == "TILLCODE":
                code = str(raw).strip() if isinstance(raw, str | int) else ""
                till = tills.get(code)
                if till is None:
                    item.fail(
                        st.EVENT_FIELD_VALIDATION_FAILED,
                        st.invalid_field(field_spec.name, f"no till with code {_as_posted(raw)}"),
                    )
                    return
                # TILLCODE is stored as the till's id; the event is attributed to it.
                item.values[field_spec.name] = str(till.id)
                item.till_id, item.till_code, item.ou_till_code = till.id, till.code, till.code
                continue
            if field_spec.type == "GROUPID":
                if isinstance(raw, dict | list):
                    item.fail(
                        st.EVENT_FIELD_VALIDATION_FAILED,
                        st.invalid_field(field_spec.name, "expected a group identifier"),
                    )
                    return
                item.values[field_spec.name] = _as_posted(raw)
                continue
            value, error = f.check_value(field_spec, raw)
            if error is not None:
                item.fail(
                    st.EVENT_FIELD_VALIDATION_FAILED, st.invalid_field(field_spec.name, error)
                )
                return
            item.values[field_spec.name] = value

    # -- 4. group exists --------------------------------------------------------
    def _group_exists(self, items: list[Item]) -> None:
        by_org_external: dict[int, set[str]] = defaultdict(set)
        by_org_id: dict[int, set[int]] = defaultdict(set)
        for item in items:
            assert item.spec is not None
            for spec in item.spec.fields:
                if spec.type == "GROUPID" and spec.name in item.values:
                    value = item.values[spec.name]
                    if spec.group_identifier_type == "GroupId":
                        group_id = _db_id(value)
                        if group_id is not None:
                            by_org_id[item.org_id].add(group_id)
                    else:
                        by_org_external[item.org_id].add(value)
        external = {o: self.repo.groups(o, v) for o, v in by_org_external.items()}
        numeric = {o: self.repo.groups_by_id(o, v) for o, v in by_org_id.items()}
        for item in items:
            assert item.spec is not None
            org_id = item.org_id
            for spec in item.spec.fields:
                if spec.type != "GROUPID" or spec.name not in item.values:
                    continue
                value = item.values[spec.name]
                if spec.group_identifier_type == "GroupId":
                    group_id = _db_id(value)
                    if group_id not in numeric.get(org_id, ()):
                        group_id = None
                else:
                    group_id = external.get(org_id, {}).get(value)
                if group_id is None:
                    item.fail(st.INVALID_GROUP_IDENTIFIER_PASSED, st.invalid_group(value))
                    break
                item.groups.append((value, group_id))

    # -- 5. customer ------------------------------------------------------------
    def _customer(self, items: list[Item]) -> None:
        wanted: dict[tuple[int, str, str, str], set[str]] = defaultdict(set)
        ids: dict[int, set[int]] = defaultdict(set)
        for item in items:
            assert item.spec is not None
            spec = item.spec.customer
            raw = item.flat.get(spec.name)
            if f.is_empty(raw) or isinstance(raw, dict | list | bool):
                self._no_customer(item)
                continue
            item.customer_value = _as_posted(raw).strip()
            org_id = item.org_id
            if spec.identifier_type == "userId":
                customer_id = _db_id(item.customer_value)
                if customer_id is not None:
                    ids[org_id].add(customer_id)
            else:
                key = (org_id, spec.source, spec.account_id, spec.identifier_type)
                wanted[key].add(item.customer_value)
        found = {
            key: self.repo.customers_by_identifier(*key, values) for key, values in wanted.items()
        }
        existing = {org_id: self.repo.customers_by_id(org_id, v) for org_id, v in ids.items()}
        for item in self._live(items):
            assert item.spec is not None
            spec = item.spec.customer
            org_id = item.org_id
            if spec.identifier_type == "userId":
                known = existing.get(org_id, {})
                cid = _db_id(item.customer_value)
                if cid is not None and cid in known:
                    merged = known[cid]
                    item.customer_id = merged if merged is not None else cid
            else:
                key = (org_id, spec.source, spec.account_id, spec.identifier_type)
                item.customer_id = found.get(key, {}).get(item.customer_value)
                if item.customer_id is None and spec.add_if_missing:
                    item.customer_id = self._register(item)
                    if item.customer_id is not None:
                        found.setdefault(key, {})[item.customer_value] = item.customer_id
            if item.customer_id is None:
                self._no_customer(item)

    @staticmethod
    def _no_customer(item: Item) -> None:
        assert item.spec is not None
        if item.spec.emf:
            item.fail(st.EMF_PROCESSOR_FAILED, st.EMF_NO_CUSTOMER_MESSAGE)
        else:
            item.fail(st.NO_CUSTOMER_DETAILS_PASSED, st.NO_CUSTOMER_MESSAGE)

    def _register(self, item: Item) -> int | None:
        """addCustomerIfNotExists: register the customer, audited under the event's requestId."""
        assert item.spec is not None
        assert item.till_id is not None
        spec = item.spec.customer
        info = self.repo.till_with_store(item.org_id, item.till_id)
        if info is None:
            return None
        till, store = info
        context = ChangeContext(
            org_id=item.org_id,
            request_id=item.request.request_id,
            updated_by=till.id,
            till={"code": till.code, "name": till.name, "id": till.id},
            store=(
                {
                    "code": store.code,
                    "name": store.name,
                    "externalId": store.external_id,
                    "externalId1": store.external_id_1,
                    "externalId2": store.external_id_2,
                }
                if store is not None
                else None
            ),
            user_context=None,
            mode="API",
        )
        try:
            body = CustomerCreate(
                profiles=[
                    ProfileIn(
                        identifiers=[
                            IdentifierIn(type=spec.identifier_type, value=item.customer_value)
                        ],
                        source=spec.source,
                        account_id=spec.account_id or None,
                    )
                ]
            )
            with self.session.begin_nested():
                customer_id, _ = customers.add_customer(self.session, context, body, None)
        except (EventrailError, ValidationError):
            # Refused as the customer API would refuse it (an invalid mobile, a stored
            # definition's over-long accountId): no customer. Or another processor
            # registered the same identifier a moment ago (the unique constraint made us
            # wait for it): then that is the customer.
            found = self.repo.customers_by_identifier(
                item.org_id,
                spec.source,
                spec.account_id,
                spec.identifier_type,
                [item.customer_value],
            )
            return found.get(item.customer_value)
        return customer_id

    # -- 6. customer in the group -------------------------------------------------
    def _membership(self, items: list[Item]) -> None:
        pairs: dict[int, set[tuple[int, int]]] = defaultdict(set)
        for item in items:
            for _, group_id in item.groups:
                if group_id is not None and item.customer_id is not None:
                    pairs[item.org_id].add((group_id, item.customer_id))
        members = {org_id: self.repo.memberships(org_id, p) for org_id, p in pairs.items()}
        for item in items:
            for value, group_id in item.groups:
                if (group_id, item.customer_id) not in members.get(item.org_id, set()):
                    item.fail(st.NO_CUSTOMER_DETAILS_PASSED, st.not_in_group(value))
                    break

    # -- 7. success: uniqueness and the record --------------------------------------
    def _succeed(self, items: list[Item]) -> None:
        keys: list[dict[str, Any]] = []
        first: set[tuple[int, str]] = set()
        for item in items:
            assert item.spec is not None
            assert item.webhook is not None
            if item.webhook.uniqueness_check_enabled and item.spec.unique:
                item.unique_id = _unique_id(item.spec, item.customer_value, item.flat)
                key = (item.org_id, item.unique_id)
                if key not in first:
                    first.add(key)
                    keys.append(
                        {
                            "org_id": item.org_id,
                            "unique_id": item.unique_id,
                            "event_id": item.request.request_id,
                        }
                    )
            else:
                item.unique_id = item.request.request_id
        new_keys = self.repo.claim_unique_keys(keys)
        owners = {(k["org_id"], k["unique_id"]): k["event_id"] for k in keys}
        for item in items:
            key = (item.org_id, item.unique_id)
            duplicate = item.unique_id != item.request.request_id and not (
                key in new_keys and owners.get(key) == item.request.request_id
            )
            item.record = self._record(item, duplicate)
            item.status, item.message, item.done = st.EVENT_SUCCESS, st.SUCCESS_MESSAGE, True

    def _record(self, item: Item, duplicate: bool) -> dict[str, Any]:
        spec, org = item.spec, item.org
        assert spec is not None
        assert org is not None
        assert item.customer_id is not None
        request = item.request
        attributes: dict[str, Any] = {}
        for key, raw in item.flat.items():
            if key in _RESERVED_KEYS or key == spec.customer.name or key == "eventDateTime":
                continue
            if key in spec.by_name:
                if key in item.values:
                    attributes[key] = item.values[key]
            else:
                attributes[key] = raw
        event_ms = item.event_ms if item.event_ms is not None else self.now // 1000 * 1000
        customer = spec.customer
        system: dict[str, Any] = {
            "accountId": customer.account_id or None,
            "autoUpdateTimeStamp": self.now,
            "customerId": str(item.customer_id),
            "displayName": spec.label,
            "eventDateTime": str(event_ms),
            "eventName": spec.name,
            "isDuplicate": duplicate,
            "is_mongo_push": True,
            "orgId": org.id,
            "requestId": request.request_id,
            "source": customer.source,
            "source_till_id": item.till_id,
            "source_user_id": item.customer_id,
            "uniqueId": item.unique_id,
            "x-cap-lineage-id": request.request_id,
            "x-cap-lineage-start": str(request.received_at),
        }
        if item.ou_till_code is not None:
            system["ouTillCode"] = item.ou_till_code
        attributes.update(system)
        return {
            "id": request.request_id,
            "org_id": org.id,
            "customer_id": item.customer_id,
            "event_name": spec.name,
            "created_at": self.now,
            "seq": request.id,
            "source": customer.source,
            "till_code": item.till_code,
            "display_name": spec.label,
            "attributes": orjson.dumps(attributes, option=orjson.OPT_SORT_KEYS).decode(),
            "psi_attributes": spec.psi_json,
            "unique_id": item.unique_id,
            "is_duplicate": duplicate,
        }

    # -- results ----------------------------------------------------------------
    def _result(
        self, items: list[Item], specs: dict[tuple[int, str], EventSpec | None]
    ) -> BatchResult:
        logs, records, verified, outcomes = [], [], set(), {}
        steps: dict[str, str] = {}
        for item in items:
            request = item.request
            logs.append(
                {
                    "id": request.request_id,
                    "org_id": item.org_id,
                    "parent_org_id": item.parent_org_id,
                    # An event routed to a child is logged in the child without the
                    # parent's webhook id: that id is the URI of the parent's webhook,
                    # which may take posts without credentials (parentOrgId says where
                    # the event came from).
                    "webhook_id": request.webhook_id if item.parent_org_id == -1 else "",
                    "start_time": request.received_at,
                    "seq": request.id,
                    "response_time": max(0, min(self.now - request.received_at, 2**31 - 1)),
                    "status": item.status,
                    "event_name": item.event_name,
                    "input_request": request.body,
                    "input_request_masked": _masked_input(item, specs),
                    "message": item.message,
                    "replay_of": request.replay_of,
                }
            )
            outcomes[request.request_id] = (item.status, item.message)
            if item.failed_step is not None:
                steps[request.request_id] = item.failed_step
            if item.record is not None:
                records.append(item.record)
                assert item.spec is not None
                if not item.spec.verified:  # marked once, not updated every batch
                    verified.add((item.record["org_id"], item.spec.definition_id))
        return BatchResult(logs, records, verified, outcomes, steps)


def record_view(record: Any, tz_name: str, *, mask: bool = False) -> dict[str, Any]:
    """A stored event in the shape of Capillary's (key order included); with ``mask``,
    the values of its PSI attributes are shown as *****.

    ``attributes`` and ``psiAttributes`` arrive as stored JSON text and are sent on
    as they are (``orjson.Fragment``) unless masking must rewrite them.
    """
    view: dict[str, Any] = {
        "orgId": record.org_id,
        "userId": record.customer_id,
        "date": format_iso(record.created_at, zone(tz_name)),
        "eventName": record.event_name,
        "eventId": record.id,
        "source": record.source,
    }
    if record.till_code is not None:
        view["tillCode"] = record.till_code
    if record.display_name is not None:
        view["displayName"] = record.display_name
    psi_text = record.psi_attributes
    if mask and psi_text not in ("[]", ""):
        psi = set(orjson.loads(psi_text))
        attributes = orjson.loads(record.attributes)
        view["additonalAttributes"] = {
            key: (MASK if key in psi and value is not None else value)
            for key, value in attributes.items()
        }
    else:
        view["additonalAttributes"] = orjson.Fragment(record.attributes)
    view["psiAttributes"] = orjson.Fragment(psi_text or "[]")
    view["uniqueId"] = record.unique_id
    return view
