"""RDF Dataset Canonicalization (RDFC-1.0) of JSON-LD credentials, offline, fast and bounded.

`canonicalize(document)` returns the canonical N-Quads that `eddsa-rdfc-2022` hashes. Two routes
lead there and give the same bytes (the tests compare them, and the DCC verifier checks our
signatures):

- the fast route walks the JSON once and writes quads directly, for documents whose `@context` is
  a list of the pinned context URLs and that use only plain node objects, strings, booleans and
  integers (what every OB 3.0 credential and status list we issue is made of);
- anything else (inline contexts, value objects, lists, numbers with fractions, ...) goes through
  PyLD's full JSON-LD expansion and to-RDF conversion.

Both share PyLD's context processing, with processed contexts memoized: PyLD re-processes every
type-scoped context for every node object (its own cache misses because each non-propagated
context gets a fresh id), which was most of its ~5 ms per credential. Both refuse what the DCC
verifier refuses in JSON-LD "safe mode": properties the contexts do not define, relative IRIs,
blank-node predicates. Blank nodes are then labelled by our RDFC-1.0 implementation, which
escapes literals and IRIs exactly as rdf-canonize does.

Untrusted input is bounded: a deadline is checked while walking, expanding, processing contexts
and hashing blank nodes, and the N-degree hashing (the part that can be made to explode) has a
call budget. PyLD's own steps cannot be interrupted from inside (some are quadratic), so the hard
bound is outside: verification runs this in a worker process killed at the deadline (`isolation`).
"""

from __future__ import annotations

import hashlib
import itertools
import re
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from cachetools import LRUCache
from frozendict import frozendict
from pyld import jsonld
from pyld.context_resolver import ContextResolver

from lms_plugin.credentials.documents import CONTEXT_FILES, context_document, document_loader
from lms_plugin.strict_json import CONTROL_CHARACTERS

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
XSD_BOOLEAN = "http://www.w3.org/2001/XMLSchema#boolean"
XSD_INTEGER = "http://www.w3.org/2001/XMLSchema#integer"
XSD_DOUBLE = "http://www.w3.org/2001/XMLSchema#double"
RDF_LANGSTRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"

# At most this many Hash N-Degree Quads calls per document (a poison graph needs far more).
NDEGREE_CALL_BUDGET = 5_000
# Control characters that canonicalize differently in PyLD and rdf-canonize (tab, LF, CR do not).
_ABSOLUTE_IRI = re.compile(r"^([A-Za-z][A-Za-z0-9+\-.]*|_):[^\s]*$")


class CanonicalizationError(ValueError):
    """The document cannot be canonicalized safely (undefined term, relative IRI, ...)."""


class LimitExceeded(CanonicalizationError):
    """Canonicalizing took longer, or more work, than allowed."""


class _Unsupported(Exception):  # noqa: N818 - internal signal: take the PyLD route
    """The fast route does not handle this construct."""


def find_control_characters(document: Any, path: str = "$") -> list[str]:
    """JSON paths of strings (keys or values) holding control characters other than tab/LF/CR."""
    found: list[str] = []
    stack: list[tuple[str, Any]] = [(path, document)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, str):
            if CONTROL_CHARACTERS.search(value):
                found.append(where)
        elif isinstance(value, dict):
            for key, item in value.items():
                if CONTROL_CHARACTERS.search(key):
                    found.append(f"{where}.{key!r}")
                stack.append((f"{where}.{key}", item))
        elif isinstance(value, list):
            stack.extend((f"{where}[{i}]", item) for i, item in enumerate(value))
    return sorted(found)


# --- context processing, memoized -----------------------------------------------------------


def _collect_ids(value: Any, into: set[int]) -> None:
    if isinstance(value, dict):
        into.add(id(value))
        for item in value.values():
            _collect_ids(item, into)
    elif isinstance(value, list):
        into.add(id(value))
        for item in value:
            _collect_ids(item, into)


_TRUSTED_CONTEXT_OBJECTS: set[int] = set()
for _url in CONTEXT_FILES:
    # The parsed documents are cached for the life of the process, so their ids stay theirs.
    _collect_ids(context_document(_url), _TRUSTED_CONTEXT_OBJECTS)

_PROCESSED: LRUCache = LRUCache(maxsize=4096)
_PROCESSED_LOCK = threading.Lock()  # cachetools caches are not thread-safe


def _context_key(local_ctx: Any) -> Any:
    if isinstance(local_ctx, str):
        return local_ctx
    if isinstance(local_ctx, list) and all(isinstance(item, str) for item in local_ctx):
        return tuple(local_ctx)
    if id(local_ctx) in _TRUSTED_CONTEXT_OBJECTS:
        return ("pinned", id(local_ctx))
    return None


class _Deadline:
    """Cooperative time limit: `tick()` checks the clock every 256 calls."""

    __slots__ = ("at", "count")

    def __init__(self, seconds: float | None) -> None:
        self.at = None if seconds is None else time.monotonic() + seconds
        self.count = 0

    def tick(self) -> None:
        self.count += 1
        if self.at is not None and not self.count & 0xFF and time.monotonic() > self.at:
            raise LimitExceeded("canonicalization took too long")


class _Processor(jsonld.JsonLdProcessor):
    """PyLD with memoized context processing, safe-mode drops and a deadline."""

    def __init__(self, deadline: _Deadline) -> None:
        super().__init__(on_property_dropped=self._dropped)
        self.deadline = deadline

    @staticmethod
    def _dropped(expanded_property: str | None) -> None:
        raise CanonicalizationError(
            f"property {expanded_property!r} is not defined by the document's contexts"
        )

    def _process_context(  # type: ignore[override]
        self,
        active_ctx: Any,
        local_ctx: Any,
        options: dict[str, Any],
        override_protected: bool = False,
        propagate: bool = True,
        validate_scoped: bool = True,
        cycles: Any = None,
    ) -> Any:
        self.deadline.tick()
        key = None
        if isinstance(active_ctx, frozendict):
            local_key = _context_key(local_ctx)
            if local_key is not None:
                key = (
                    active_ctx["_uuid"],
                    local_key,
                    override_protected,
                    propagate,
                    validate_scoped,
                    options.get("base"),
                    options.get("processingMode"),
                )
                with _PROCESSED_LOCK:
                    cached = _PROCESSED.get(key)
                if cached is not None:
                    return cached
        result = super()._process_context(
            active_ctx, local_ctx, options, override_protected, propagate, validate_scoped, cycles
        )
        if key is not None:
            with _PROCESSED_LOCK:
                _PROCESSED[key] = result
        return result

    def _expand(self, *args: Any, **kwargs: Any) -> Any:
        self.deadline.tick()
        return super()._expand(*args, **kwargs)

    def _create_term_definition(self, *args: Any, **kwargs: Any) -> Any:
        self.deadline.tick()
        return super()._create_term_definition(*args, **kwargs)


def _options() -> dict[str, Any]:
    # base None, as jsonld.js is called by the DCC verifier: PyLD turns base "" into
    # http://example.org/base/, which would silently make relative IRIs absolute.
    return {
        "base": None,
        "documentLoader": document_loader,
        "processingMode": "json-ld-1.1",
        "contextResolver": ContextResolver(jsonld._resolved_context_cache, document_loader),
        "extractAllScripts": True,
        "isFrame": False,
        "keepFreeFloatingNodes": False,
    }


# --- N-Quads terms, escaped as rdf-canonize (RDFC-1.0 canonical N-Quads) escapes them ----------

_LITERAL_ESCAPES = {chr(n): f"\\u{n:04X}" for n in [*range(0x20), 0x7F]}
_LITERAL_ESCAPES.update(
    {"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r", '"': '\\"', "\\": "\\\\"}
)
_LITERAL_SPECIAL = re.compile('[\x00-\x1f\x7f"\\\\]')
_IRI_SPECIAL = re.compile('[\x00-\x20<>"{}|^`\\\\]')


def _iri(value: str) -> str:
    if _IRI_SPECIAL.search(value):
        value = _IRI_SPECIAL.sub(lambda m: f"\\u{ord(m.group()):04X}", value)
    return f"<{value}>"


def _literal(value: str, datatype: str = XSD_STRING, language: str | None = None) -> str:
    if _LITERAL_SPECIAL.search(value):
        value = _LITERAL_SPECIAL.sub(lambda m: _LITERAL_ESCAPES[m.group()], value)
    if language:
        return f'"{value}"@{language}'
    if datatype == XSD_STRING:
        return f'"{value}"'
    return f'"{value}"^^{_iri(datatype)}'


Quad = tuple[str, str, str, str]  # subject, predicate, object, graph ("" = default graph)


def _is_absolute(iri: str) -> bool:
    return _ABSOLUTE_IRI.match(iri) is not None


# --- the fast route --------------------------------------------------------------------------

_UNSUPPORTED_KEYWORDS = frozenset(
    [
        "@value",
        "@list",
        "@set",
        "@graph",
        "@included",
        "@reverse",
        "@nest",
        "@index",
        "@language",
        "@direction",
        "@json",
        "@none",
        "@context",
        "@base",
        "@vocab",
        "@version",
        "@protected",
        "@propagate",
        "@import",
        "@default",
        "@embed",
        "@explicit",
        "@omitDefault",
        "@requireAll",
    ]
)
_TERM_KEYS = frozenset(["@id", "@type", "@container", "@context", "reverse", "protected"])
_TERM_KEYS |= {"_prefix", "_term_has_colon"}


def _pinned_urls(context: Any) -> list[str]:
    """A `@context` as a list of pinned context URLs (anything else takes the PyLD route)."""
    if isinstance(context, str):
        context = [context]
    if not (
        isinstance(context, list)
        and context
        and all(isinstance(url, str) and url in CONTEXT_FILES for url in context)
    ):
        raise _Unsupported
    return context


class _FastRdf:
    """JSON-LD to RDF for pinned contexts and plain node objects, in one pass."""

    def __init__(self, processor: _Processor, options: dict[str, Any]) -> None:
        self.processor = processor
        self.options = options
        self.quads: set[Quad] = set()
        self.blank = itertools.count()
        self.iri_cache: dict[tuple[str, str, bool], str | None] = {}

    def run(self, document: Any) -> set[Quad]:
        if not isinstance(document, dict):
            raise _Unsupported
        initial = self.processor._get_initial_context(self.options)
        active = self.processor._process_context(
            initial, _pinned_urls(document.get("@context")), self.options
        )
        self.node(active, None, document, "", top=True)
        return self.quads

    def process(self, active: Any, local: Any, **flags: bool) -> Any:
        if _context_key(local) is None:
            raise _Unsupported
        return self.processor._process_context(active, local, self.options, **flags)

    def expand(self, active: Any, value: str, vocab: bool) -> str | None:
        key = (active["_uuid"], value, vocab)
        try:
            return self.iri_cache[key]
        except KeyError:
            pass
        expanded = self.processor._expand_iri(active, value, vocab=vocab, base=None)
        self.iri_cache[key] = expanded
        return expanded

    def key_iri(self, active: Any, key: str) -> str | None:
        mapping = active["mappings"].get(key, ())
        if mapping is None:
            return None
        if mapping:
            return mapping["@id"]
        return self.expand(active, key, vocab=True)

    def subject_iri(self, active: Any, value: Any, what: str) -> str:
        if not isinstance(value, str):
            raise _Unsupported
        expanded = self.expand(active, value, vocab=what == "@type")
        if expanded is None or expanded.startswith("_:"):
            raise _Unsupported
        if not _is_absolute(expanded):
            raise CanonicalizationError(f"relative {what} reference {value!r}")
        return expanded

    def node(
        self, active: Any, active_property: str | None, element: dict, graph: str, top: bool
    ) -> str:
        self.processor.deadline.tick()
        if "@language" in active or "@direction" in active or "@vocab" in active:
            raise _Unsupported
        if not top:
            scoped = None
            if active_property is not None:
                scoped = jsonld.JsonLdProcessor.get_context_value(
                    active, active_property, "@context"
                )
            revert = True
            if active.get("previousContext") and len(element) <= 2:
                for key in sorted(element):
                    expanded = self.key_iri(active, key)
                    if expanded == "@value":
                        raise _Unsupported
                    if expanded == "@id" and len(element) == 1:
                        revert = False
                        break
            if revert:
                active = active.get("previousContext", active)
            if scoped is not None:
                active = self.process(active, scoped, override_protected=True)
            if "@context" in element:  # an embedded credential's own: pinned URLs only here
                active = self.process(active, _pinned_urls(element["@context"]))
        type_scoped = active
        types: list[str] = []
        type_key = None
        for key in sorted(element):
            if key == "@context" or self.key_iri(active, key) != "@type":
                continue
            if type_key is not None:
                raise _Unsupported
            type_key = key
            value = element[key]
            types = value if isinstance(value, list) else [value]
            if not all(isinstance(item, str) for item in types):
                raise _Unsupported
            for type_name in sorted(types):
                scoped = jsonld.JsonLdProcessor.get_context_value(
                    type_scoped, type_name, "@context"
                )
                if scoped is not None and scoped is not False:
                    active = self.process(active, scoped, propagate=False)
        subject = None
        properties = []
        for key, value in element.items():
            if key in ("@context", type_key):
                continue
            expanded = self.key_iri(active, key)
            if expanded == "@id":
                if subject is not None:
                    raise _Unsupported
                subject = _iri(self.subject_iri(active, value, "@id"))
                continue
            if expanded is None or not (_is_absolute(expanded) or expanded.startswith("@")):
                raise CanonicalizationError(
                    f"property {key!r} is not defined by the document's contexts"
                )
            if expanded in _UNSUPPORTED_KEYWORDS or expanded.startswith("@"):
                raise _Unsupported
            if expanded.startswith("_:"):
                raise CanonicalizationError(f"blank node predicate {key!r}")
            properties.append((key, expanded, value))
        if subject is None:
            subject = f"_:b{next(self.blank)}"
        for type_name in types:
            self.quads.add(
                (
                    subject,
                    _iri(RDF_TYPE),
                    _iri(self.subject_iri(type_scoped, type_name, "@type")),
                    graph,
                )
            )
        for key, predicate, value in properties:
            self.property(active, subject, key, predicate, value, graph)
        return subject

    def property(
        self, active: Any, subject: str, key: str, predicate: str, value: Any, graph: str
    ) -> None:
        mapping = active["mappings"].get(key) or {}
        if not _TERM_KEYS.issuperset(mapping) or mapping.get("reverse"):
            raise _Unsupported
        container = mapping.get("@container") or ()
        if any(item not in ("@set", "@graph") for item in container):
            raise _Unsupported
        term_active = active
        scoped = mapping.get("@context")
        if scoped is not None:
            term_active = self.process(active, scoped, propagate=True, override_protected=True)
        term = term_active["mappings"].get(key) or {}
        coerce = term.get("@type")
        if coerce == "@json" or not _TERM_KEYS.issuperset(term):
            raise _Unsupported
        predicate_term = _iri(predicate)
        for item in value if isinstance(value, list) else [value]:
            if "@graph" in container:
                if not isinstance(item, dict):
                    raise _Unsupported
                name = f"_:b{next(self.blank)}"
                self.node(term_active, key, item, name, top=False)
                self.quads.add((subject, predicate_term, name, graph))
                continue
            self.quads.add(
                (subject, predicate_term, self.value(term_active, key, item, coerce, graph), graph)
            )

    def value(self, active: Any, key: str, item: Any, coerce: str | None, graph: str) -> str:
        if isinstance(item, float) and item.is_integer() and abs(item) < 1e21:
            item = int(item)  # JSON 2.0 is the number 2, as JavaScript reads it
        if isinstance(item, dict):
            return self.node(active, key, item, graph, top=False)
        if isinstance(item, str):
            if coerce == "@id":
                return _iri(self.subject_iri(active, item, "@id"))
            if coerce == "@vocab":
                return _iri(self.subject_iri(active, item, "@type"))
            if coerce == XSD_DOUBLE:
                raise _Unsupported
            if coerce is not None and coerce != "@none":
                return _literal(item, coerce)
            return _literal(item)
        datatype = coerce if coerce not in (None, "@id", "@vocab", "@none") else None
        if isinstance(item, bool):
            return _literal("true" if item else "false", datatype or XSD_BOOLEAN)
        if isinstance(item, int) and abs(item) < 10**21 and datatype != XSD_DOUBLE:
            return _literal(str(item), datatype or XSD_INTEGER)
        raise _Unsupported


# --- the PyLD route ----------------------------------------------------------------------------


def _check_expanded(value: Any) -> None:
    """Safe-mode checks PyLD does not make: relative IRIs anywhere in the expanded document."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            for key, child in item.items():
                if key == "@id" and isinstance(child, str) and not _is_absolute(child):
                    raise CanonicalizationError(f"relative @id reference {child!r}")
                if key == "@type" and "@value" not in item:
                    for type_name in child if isinstance(child, list) else [child]:
                        if isinstance(type_name, str) and not _is_absolute(type_name):
                            raise CanonicalizationError(f"relative @type reference {type_name!r}")
                if not key.startswith("@") and not _is_absolute(key):
                    raise CanonicalizationError(f"relative property {key!r}")
                if key.startswith("_:"):
                    raise CanonicalizationError(f"blank node predicate {key!r}")
                if key != "@value":
                    stack.append(child)


def _term(component: dict[str, Any]) -> str:
    if component["type"] == "IRI":
        return _iri(component["value"])
    if component["type"] == "blank node":
        return component["value"]
    datatype = component.get("datatype") or XSD_STRING
    if datatype == RDF_LANGSTRING:
        return _literal(component["value"], language=component.get("language"))
    return _literal(component["value"], datatype)


def _js_numbers(value: Any) -> Any:
    """Integral floats as ints: JSON `2.0` is the number 2 to jsonld.js, a double to PyLD."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return int(value)
    if isinstance(value, dict):
        return {key: _js_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_js_numbers(item) for item in value]
    return value


def _pyld_quads(document: Any, processor: _Processor, options: dict[str, Any]) -> set[Quad]:
    try:
        expanded = processor.expand(_js_numbers(document), dict(options))
        _check_expanded(expanded)
        dataset = processor.to_rdf(
            expanded, {**options, "rdfDirection": "i18n-datatype", "produceGeneralizedRdf": False}
        )
    except jsonld.JsonLdError as error:
        cause: BaseException | None = error
        while cause is not None:
            if isinstance(cause, CanonicalizationError):
                raise cause from None
            cause = cause.__cause__
        raise CanonicalizationError(f"not valid JSON-LD: {error}") from None
    quads: set[Quad] = set()
    for graph_name, triples in dataset.items():
        graph = ""
        if graph_name != "@default":
            graph = graph_name if graph_name.startswith("_:") else _iri(graph_name)
        for triple in triples:
            quads.add(
                (
                    _term(triple["subject"]),
                    _term(triple["predicate"]),
                    _term(triple["object"]),
                    graph,
                )
            )
    return quads


# --- RDFC-1.0 -------------------------------------------------------------------------------


def _line(quad: Quad, rename: Callable[[str], str]) -> str:
    subject, predicate, obj, graph = quad
    if subject[0] == "_":
        subject = rename(subject)
    if obj[0] == "_":
        obj = rename(obj)
    if graph:
        if graph[0] == "_":
            graph = rename(graph)
        return f"{subject} {predicate} {obj} {graph} .\n"
    return f"{subject} {predicate} {obj} .\n"


class _Issuer:
    __slots__ = ("prefix", "issued", "order")

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.issued: dict[str, str] = {}
        self.order: list[str] = []

    def issue(self, blank: str) -> str:
        label = self.issued.get(blank)
        if label is None:
            label = self.issued[blank] = f"{self.prefix}{len(self.order)}"
            self.order.append(blank)
        return label

    def copy(self) -> _Issuer:
        clone = _Issuer(self.prefix)
        clone.issued = dict(self.issued)
        clone.order = list(self.order)
        return clone


class _Rdfc:
    """RDFC-1.0 (W3C Recommendation 2024), with a deadline and an N-degree call budget."""

    def __init__(self, quads: Iterable[Quad], deadline: _Deadline) -> None:
        # Sorted, and terms taken in order: where RDFC-1.0 leaves a tie between blank nodes to the
        # input's order, the labels must not depend on how a set happened to iterate.
        self.quads = sorted(quads)
        self.deadline = deadline
        self.blank_quads: dict[str, list[Quad]] = {}
        for quad in self.quads:
            for term in dict.fromkeys((quad[0], quad[2], quad[3])):
                if term and term[0] == "_":
                    self.blank_quads.setdefault(term, []).append(quad)
        self.first_degree: dict[str, str] = {}
        self.canonical = _Issuer("_:c14n")
        self.ndegree_calls = 0

    def hash_first_degree(self, blank: str) -> str:
        cached = self.first_degree.get(blank)
        if cached is None:

            def rename(term: str) -> str:
                return "_:a" if term == blank else "_:z"

            lines = sorted(_line(quad, rename) for quad in self.blank_quads[blank])
            cached = hashlib.sha256("".join(lines).encode("utf-8")).hexdigest()
            self.first_degree[blank] = cached
        return cached

    def run(self) -> str:
        by_hash: dict[str, list[str]] = {}
        for blank in self.blank_quads:
            by_hash.setdefault(self.hash_first_degree(blank), []).append(blank)
        shared = []
        for digest in sorted(by_hash):
            blanks = by_hash[digest]
            if len(blanks) == 1:
                self.canonical.issue(blanks[0])
            else:
                shared.append(blanks)
        for blanks in shared:
            paths = []
            for blank in blanks:
                if blank in self.canonical.issued:
                    continue
                temporary = _Issuer("_:b")
                temporary.issue(blank)
                paths.append(self.hash_n_degree(blank, temporary))
            for _digest, issuer in sorted(paths, key=lambda result: result[0]):
                for existing in issuer.order:
                    self.canonical.issue(existing)
        issued = self.canonical.issued
        return "".join(sorted({_line(quad, issued.__getitem__) for quad in self.quads}))

    def hash_related(self, related: str, quad: Quad, issuer: _Issuer, position: str) -> str:
        if related in self.canonical.issued:
            label = self.canonical.issued[related]
        elif related in issuer.issued:
            label = issuer.issued[related]
        else:
            label = self.hash_first_degree(related)
        text = position + (quad[1] if position != "g" else "") + label
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def hash_n_degree(self, blank: str, issuer: _Issuer) -> tuple[str, _Issuer]:
        self.ndegree_calls += 1
        self.deadline.tick()
        if self.ndegree_calls > NDEGREE_CALL_BUDGET:
            raise LimitExceeded("blank node structure too complex to canonicalize")
        related_by_hash: dict[str, list[str]] = {}
        for quad in self.blank_quads[blank]:
            for term, position in ((quad[0], "s"), (quad[2], "o"), (quad[3], "g")):
                if term and term[0] == "_" and term != blank:
                    digest = self.hash_related(term, quad, issuer, position)
                    related_by_hash.setdefault(digest, []).append(term)
        data = hashlib.sha256()
        for digest in sorted(related_by_hash):
            data.update(digest.encode("utf-8"))
            chosen_path = ""
            chosen_issuer: _Issuer | None = None
            for permutation in itertools.permutations(related_by_hash[digest]):
                self.deadline.tick()
                issuer_copy = issuer.copy()
                path = ""
                recursion: list[str] = []
                skip = False
                for related in permutation:
                    if related in self.canonical.issued:
                        path += self.canonical.issued[related]
                    else:
                        if related not in issuer_copy.issued:
                            recursion.append(related)
                        path += issuer_copy.issue(related)
                    if chosen_path and len(path) >= len(chosen_path) and path > chosen_path:
                        skip = True
                        break
                if skip:
                    continue
                for related in recursion:
                    result_hash, result_issuer = self.hash_n_degree(related, issuer_copy)
                    path += issuer_copy.issue(related) + f"<{result_hash}>"
                    issuer_copy = result_issuer
                    if chosen_path and len(path) >= len(chosen_path) and path > chosen_path:
                        skip = True
                        break
                if skip:
                    continue
                if not chosen_path or path < chosen_path:
                    chosen_path = path
                    chosen_issuer = issuer_copy
            data.update(chosen_path.encode("utf-8"))
            assert chosen_issuer is not None
            issuer = chosen_issuer
        return data.hexdigest(), issuer


# --- entry points ----------------------------------------------------------------------------


def to_quads(document: Any, *, seconds: float | None = None, fast: bool = True) -> set[Quad]:
    """The RDF dataset of a JSON-LD document (terms already in N-Quads syntax)."""
    deadline = _Deadline(seconds)
    processor = _Processor(deadline)
    options = _options()
    if fast:
        try:
            return _FastRdf(processor, options).run(document)
        except _Unsupported:
            pass
        except jsonld.JsonLdError as error:
            raise CanonicalizationError(f"not valid JSON-LD: {error}") from None
    return _pyld_quads(document, processor, options)


def canonicalize(document: Any, *, seconds: float | None = None, fast: bool = True) -> str:
    """Canonical N-Quads (RDFC-1.0, SHA-256) of a JSON-LD document, with pinned contexts only.

    `seconds` bounds the whole operation (use it for untrusted input); `fast=False` forces the
    PyLD route (tests compare the two).
    """
    deadline_seconds = seconds
    started = time.monotonic()
    quads = to_quads(document, seconds=seconds, fast=fast)
    if deadline_seconds is not None:
        deadline_seconds = max(0.0, deadline_seconds - (time.monotonic() - started))
    return _Rdfc(quads, _Deadline(deadline_seconds)).run()
