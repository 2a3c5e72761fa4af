"""Splunk SPL → `ParsedQuery`: `parse_spl(text, catalog)`.

The pipeline is read command by command into the IR's fixed order (filters → computed →
aggregation → having → project → sort → limit). A command that arrives "too late" is still
taken when moving it changes nothing (a `where` after `eval`, a `table` after `sort`); when
moving it would change the results (`head 10 | where …`, a second `stats`) it starts a new
stage, as `eventstats`, `dedup`, `mvexpand`, `join`, `lookup` and subsearch terms do (see
`spl.stages`). A construct the IR cannot hold becomes an ``unsupported`` issue at its
position. Commands that write or run code are refused first (``read_only``), wherever they
are. A subsearch is read as a search of its own (`subsearch`), with its own source.

The source is chosen by the search prefix (`spl.bind.match_prefix`) and its terms are removed
from the filters; `| tstats` is one command holding source, filters and aggregation.

Modules: `spl.lex` (commands, tokens), `spl.search` / `spl.eval` (search and eval syntax
trees), `spl.bind` (names, values, search filters), `spl.expr` (where filters, eval
expressions), `spl.source` (time modifiers, source prefixes and source OR groups),
`spl.stages` / `spl.aggregate` /
`spl.output` / `spl.stages_more` / `spl.subsearch` / `spl.lookup` (what each command does to
the plan) and this module (commands, source choice, subsearches, inputlookup).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from lexiquery.catalog.model import Catalog, Platform
from lexiquery.dialects.parsing import ParsedQuery, closest, sources_on, syntax_error
from lexiquery.dialects.spl.bind import Scope
from lexiquery.dialects.spl.guard import SPL_FORBIDDEN_COMMANDS
from lexiquery.dialects.spl.lex import Segment, blank_comments, check_depth, split_commands
from lexiquery.dialects.spl.output import Pipeline
from lexiquery.dialects.spl.search import SNode, STerm, SValue, parse_search
from lexiquery.dialects.spl.source import (
    BoundPrefix,
    SourceMatch,
    bound_prefix,
    bound_to,
    dataset_of,
    is_container,
    match_index_only,
    match_prefix,
    normalise_command,
    prefix_values,
    shelf_datamodels,
    shelf_prefixes,
    source_branches,
    source_groups,
)
from lexiquery.dialects.spl.stages import HANDLED, Args, Command
from lexiquery.errors import QueryError

__all__ = ["parse_spl"]

# Real Splunk commands the IR cannot hold: reported as unsupported at their position.
UNSUPPORTED_COMMANDS = frozenset({
    "rex", "lookup", "inputlookup", "join", "append", "appendcols", "appendpipe", "transaction",
    "spath", "mvexpand", "makemv", "mvcombine", "nomv", "streamstats", "iplocation", "chart",
    "xyseries", "untable", "convert", "fillnull", "filldown", "geostats", "cluster", "kmeans",
    "anomalydetection", "predict", "trendline", "accum", "delta", "autoregress", "addtotals",
    "addinfo", "makeresults", "metadata", "multisearch", "union", "set", "format", "return",
    "regex", "erex", "extract", "kv", "xmlkv", "reverse", "uniq", "strcat", "transpose", "tags",
    "typer", "fieldsummary", "outlier", "highlight", "iconify", "abstract", "associate",
    "contingency", "correlate", "diff", "history", "localize", "loadjob", "savedsearch",
    "selfjoin", "gentimes", "pivot", "from", "foreach", "multikv", "rangemap", "relevancy",
    "reltime", "require", "mstats", "mcatalog", "eventcount", "dbinspect", "addcoltotals",
    "rtorder", "sort", "inputcsv", "xmlunescape", "makecontinuous", "timewrap", "bucketdir",
    "fieldformat", "predict", "x11", "search", "where", "eval",
}) - HANDLED - SPL_FORBIDDEN_COMMANDS  # refused as read_only, not "unsupported"
_DISPLAY_ONLY = frozenset({"highlight", "iconify"})
_GENERATORS = frozenset({"tstats", "datamodel", "search"})
# Words that, met bare in the base search, are almost surely a command missing its pipe.
_PIPE_SLIPS = frozenset({"stats", "table", "where", "eval", "sort", "head", "tail", "dedup",
                         "top", "rare", "timechart", "fields", "rename", "bin", "bucket",
                         "eventstats", "tstats", "chart", "rex", "lookup", "fieldformat"})
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"?')
_COMMAND_START = re.compile(r"[|\[]\s*([A-Za-z_][A-Za-z0-9_]*)")


@dataclass
class _Choice:
    match: SourceMatch
    datamodel: str | None
    generating: bool
    note: str | None = None


def parse_spl(text: str, catalog: Catalog) -> ParsedQuery:
    """Read an SPL search into a `ParsedQuery` through `catalog`'s Splunk bindings.

    Raises `QueryError`: ``syntax`` (with position, expectation and hint), ``read_only`` (a
    command that writes, sends or runs code), ``unknown_source`` (no prefix matches),
    ``ambiguous`` (several sources match equally), ``unknown_field``."""
    if not text or not text.strip():
        raise syntax_error(text or "", 0, "the search is empty",
                           expected="a search such as index=… sourcetype=…")
    clean = blank_comments(text)
    check_depth(clean)
    segments = split_commands(clean)
    commands = [_command(clean, seg) for seg in segments[1:]]
    _refuse_writes(clean)  # before reading anything else: nothing may hide a write
    for cmd in commands:
        _check_known(clean, cmd)
    try:
        return _Reader(text, clean, catalog).read(segments[0], commands)
    except RecursionError:  # e.g. thousands of alternating `a + b - c …`: refuse, never crash
        raise syntax_error(clean, 0, "the search is nested too deeply to read",
                           hint="split the expression with several eval steps") from None


def _refuse_writes(text: str) -> None:
    """A command that writes, sends or runs code, anywhere — after a pipe or opening a
    subsearch (`[| outputlookup …]` runs too) — is refused at its position."""
    blanked = _QUOTED.sub(lambda m: " " * len(m.group(0)), text)
    for m in _COMMAND_START.finditer(blanked):
        if m.group(1).lower() in SPL_FORBIDDEN_COMMANDS:
            raise syntax_error(text, m.start(1), f"the SPL command '{m.group(1)}' writes, "
                               "sends or runs code", code="read_only",
                               hint="LexiQuery only reads: remove this command")


def _command(text: str, seg: Segment) -> Command:
    i = seg.start
    while i < seg.end and text[i].isspace():
        i += 1
    if i >= seg.end:
        where = "at the end of the search" if seg.end == len(text) else "between two pipes"
        raise syntax_error(text, seg.pipe, f"empty command {where}",
                           expected="a command after '|'",
                           hint="remove the extra '|'" if where != "at the end of the search"
                           else "finish the command after '|', or remove the '|'")
    m = _NAME.match(text, i, seg.end)
    if not m:
        raise syntax_error(text, i, f"'{text[i]}' cannot start a command",
                           expected="a command name, e.g. stats, where, table")
    return Command(m.group(0), i, m.end(), seg.end, seg.pipe)


def _check_known(text: str, cmd: Command) -> None:
    name = cmd.name.lower()
    if name in HANDLED or name in UNSUPPORTED_COMMANDS:
        return
    near = closest(name, sorted(HANDLED | UNSUPPORTED_COMMANDS))
    raise syntax_error(text, cmd.pos, f"unknown command '{cmd.name}'",
                       expected="a Splunk command",
                       hint=f"did you mean {' or '.join(near)}?" if near else
                       "see the Splunk search reference for the command names")


class _Reader:
    def __init__(self, original: str, text: str, catalog: Catalog) -> None:
        self.original = original
        self.text = text
        self.catalog = catalog
        self.prefixes = [bp for s in sources_on(catalog, Platform.spl)
                         if (bp := bound_prefix(s)) is not None]

    def read(self, base: Segment, commands: list[Command]) -> ParsedQuery:
        text = self.text
        start = base.start
        m = re.match(r"\s*search\b", text[base.start:base.end], re.IGNORECASE)
        if m:
            start += m.end()
        if text[start:base.end].strip():
            terms, _ = parse_search(text, start, base.end)
            self._pipe_slips(terms)
            choice = self._choose(terms, None, None, start)
            pipe = self._pipeline(choice)
            if choice.note:
                pipe.notes.append(choice.note)
            pipe.base_terms(terms, choice.match.used, choice.match.narrowed)
        else:
            if not commands:
                raise syntax_error(text, base.end, "the search is empty",
                                   expected="a search or a command")
            first, commands = commands[0], commands[1:]
            pipe = self._generating(first)
        pipe.run(commands)
        plan = pipe.plan()
        return ParsedQuery(platform=Platform.spl, dialect="spl", text=self.original, plan=plan,
                           source=pipe.source, notes=pipe.notes)

    def _pipe_slips(self, terms: list[SNode]) -> None:
        for i, t in enumerate(terms):
            if isinstance(t, STerm) and t.field is None and isinstance(t.value, SValue) \
                    and not t.value.quoted and t.value.text.lower() in _PIPE_SLIPS \
                    and i + 1 < len(terms):
                raise syntax_error(self.text, t.pos, f"'{t.value.text}' is a command, but it "
                                   "is inside the search terms", expected="'|' before it",
                                   hint=f"put | before {t.value.text}")

    def _pipeline(self, choice: _Choice) -> Pipeline:
        source = choice.match.source
        scope = Scope.of_source(self.text, source, datamodel=choice.datamodel)
        pipe = Pipeline(self.text, source, scope, generating=choice.generating)
        pipe.read_subsearch = self.subsearch
        pipe.find_lookup = self._lookup
        self.pipe = pipe
        return pipe

    def subsearch(self, start: int, end: int) -> tuple[ParsedQuery, Scope]:
        """The search inside `[ … ]` (`text[start:end]`) read on its own, and the SPL names of
        its outputs. The text around it is blanked, so positions stay those of the query."""
        text = " " * start + self.text[start:end] + " " * (len(self.text) - end)
        segments = split_commands(text)
        commands = [_command(text, seg) for seg in segments[1:]]
        for cmd in commands:
            _check_known(text, cmd)
        reader = _Reader(self.original, text, self.catalog)
        parsed = reader.read(segments[0], commands)
        return parsed, reader.pipe.outputs()

    def _generating(self, cmd: Command) -> Pipeline:
        name = cmd.name.lower()
        if name == "search":
            terms, _ = parse_search(self.text, cmd.args, cmd.end)
            self._pipe_slips(terms)
            choice = self._choose(terms, None, None, cmd.args)
            pipe = self._pipeline(choice)
            pipe.base_terms(terms, choice.match.used, choice.match.narrowed)
            return pipe
        if name == "datamodel":
            own = normalise_command(self.text[cmd.pos:cmd.end])
            choice = self._choose([], own, None, cmd.pos)
            return self._pipeline(choice)
        if name == "tstats":
            return self._tstats(cmd)
        if name == "inputlookup":
            return self._inputlookup(cmd)
        if name in UNSUPPORTED_COMMANDS or name in HANDLED:
            raise syntax_error(self.text, cmd.pos, f"'{cmd.name}' does not read a catalog "
                               "source",
                               hint="start with index=… sourcetype=…, | tstats … or "
                               "| datamodel …", code="unknown_source")
        raise AssertionError(name)  # unknown names were refused before

    def _lookup(self, name: str) -> Any:
        """The lookup the catalog declares under `name` (or its file name, `name.csv`)."""
        find = getattr(self.catalog, "lookup", None)
        if find is None:
            return None
        return find(name) or (find(name[:-4]) if name.lower().endswith(".csv") else None)

    def _inputlookup(self, cmd: Command) -> Pipeline:
        """`| inputlookup name`: the rows of a lookup the catalog declares, as its source."""
        args = Args(self.text, cmd.args, cmd.end)
        opts = args.options()
        tok = args.next()
        table = self._lookup(str(tok.value)) if tok.kind in {"word", "str"} else None
        if table is None:
            raise syntax_error(self.text, tok.start, f"the catalog declares no lookup "
                               f"'{tok.text}'", code="unknown_source",
                               hint="lookups are declared in the catalog (catalog.lookups)")
        for name, (value, pos) in opts.items():
            raise syntax_error(self.text, pos, f"the inputlookup option {name}={value} is not "
                               "supported", code="unsupported")
        if not args.at_end():
            raise syntax_error(self.text, args.peek().start, "inputlookup … where is not "
                               "supported; filter with | where", code="unsupported")
        source = table.source()
        return self._pipeline(_Choice(SourceMatch(source, set(), 1.0, []), None, True))

    def _tstats(self, cmd: Command) -> Pipeline:
        args = Args(self.text, cmd.args, cmd.end)
        opts = args.options()
        args.sc.skip_space()
        aggs_at = args.sc.pos
        args.skip_until("from", "where", "by")
        args.sc.skip_space()
        aggs_end = args.sc.pos
        datamodel, dataset = None, None
        if args.keyword("from"):
            tok = args.next()
            if tok.is_word("datamodel") and args.peek().is_op("="):
                args.next()
                tok = args.next()
            if tok.kind not in {"word", "str"}:
                raise syntax_error(self.text, tok.start, "tstats from needs a data model",
                                   expected="from datamodel=Name")
            path = str(tok.value).split(".")
            datamodel, dataset = path[0], (path[1] if len(path) > 1 else None)
        terms: list[SNode] = []
        where_at = None
        if args.keyword("where"):
            where_at = args.sc.pos
            terms, stop = parse_search(self.text, args.sc.pos, cmd.end, stop=("by",))
            args.sc.pos = stop
        if datamodel is not None:
            choice = self._choose_generating(None, datamodel, cmd.pos, dataset)
        else:
            if not terms:
                raise syntax_error(self.text, cmd.pos, "tstats needs a data model or an index",
                                   expected="from datamodel=… or where index=…",
                                   code="unknown_source")
            choice = self._choose(terms, None, None, where_at or cmd.pos)
        pipe = self._pipeline(choice)
        pipe.tstats_options(opts)
        child = choice.match.source.concept(dataset) if dataset else None
        if child is not None:  # `datamodel=Authentication.Failed_Authentication`
            pipe.filters += list(child.filters)
            pipe.notes.append(f"the {dataset} dataset is {choice.match.source.name} where "
                              + " and ".join(f"{c.field} = {c.value!r}"
                                             for c in child.filters))  # type: ignore[union-attr]
        pipe.base_terms(terms, choice.match.used, choice.match.narrowed)
        pipe.tstats_aggregation(aggs_at, aggs_end, args)
        return pipe

    # ------------------------------------------------------------------ source choice

    def _choose(self, terms: list[SNode], generating: str | None, datamodel: str | None,
                pos: int) -> _Choice:
        if generating is not None or datamodel is not None:
            return self._choose_generating(generating, datamodel, pos)
        prefixes = self.prefixes + shelf_prefixes(self.catalog, terms, None)
        matches = [m for bp in prefixes if bp.generating is None
                   and (m := match_prefix(bp, terms)) is not None]
        if not matches:
            self._refuse_source_groups(terms, prefixes)
            loose = [m for bp in self.prefixes if bp.generating is None
                     and (m := match_index_only(bp, terms)) is not None]
            if len(loose) == 1:
                src = loose[0].source
                return _Choice(loose[0], None, False, note=(
                    f"read as {src.name}: the search names only its index, and the catalog "
                    f"searches it as {src.bindings.spl.search}"))  # type: ignore[union-attr]
            raise self._unknown(terms, pos)
        # A source the search selects whole beats one it reads only part of (a narrowing).
        matches.sort(key=lambda m: (bool(m.narrowed), -m.score, m.source.origin != "builtin"))
        best = matches[0]
        ties = [m for m in matches[1:] if m.score == best.score
                and bool(m.narrowed) == bool(best.narrowed)
                and (m.source.origin == "builtin") == (best.source.origin == "builtin")]
        if ties:
            names = ", ".join(m.source.id for m in [best, *ties])
            raise syntax_error(self.text, pos, f"this search fits several sources ({names})",
                               hint="add index=… to say which", code="ambiguous")
        bp = next(p for p in prefixes if p.source is best.source)
        for i, others in source_groups(best, bp, terms, prefixes):
            raise self._several(terms[i], others, best.source.id, prefixes)
        return _Choice(best, None, False)

    def _several(self, term: SNode, others: list[STerm], chosen: str | None,
                 prefixes: list[BoundPrefix]) -> QueryError:
        """A source OR group that reads data of several catalog sources: refused, naming them."""
        said = []
        for b in others:
            ids = bound_to(b, prefixes)
            said.append(f"{b.field}={b.value.text} "  # type: ignore[union-attr]
                        + (f"({', '.join(ids)})" if ids else "(no catalog source)"))
        first = f"{chosen} and " if chosen else ""
        return syntax_error(self.text, getattr(term, "pos", 0), f"this search reads "
                            f"{first}{'; '.join(said)}: a plan reads one source",
                            code="unsupported", hint="search one source at a time")

    def _refuse_source_groups(self, terms: list[SNode], prefixes: list[BoundPrefix]) -> None:
        """No prefix matches: an OR group whose branches are bound to different sources says
        why (`(source=A OR source=B)` is two sources)."""
        for t in terms:
            branches = source_branches(t)
            if branches is None or len(branches) < 2:
                continue
            named = [b for b in branches
                     if (b.field or "").lower() != "index" and not is_container(b)]
            bound = {tuple(bound_to(b, prefixes)) for b in named}
            if len(bound) > 1:
                raise self._several(t, named, None, prefixes)

    def _choose_generating(self, generating: str | None, datamodel: str | None,
                           pos: int, dataset: str | None = None) -> _Choice:
        hits: list[BoundPrefix] = []
        prefixes = self.prefixes
        named = re.match(r"datamodel\s+([A-Za-z_]\w*)", generating or "")
        if datamodel is not None or named:  # `| datamodel Web Web search`: the shelves' too
            prefixes = prefixes + shelf_prefixes(self.catalog, [],
                                                 datamodel or named.group(1))  # type: ignore
        for bp in prefixes:
            if generating is not None and bp.generating == generating:
                hits.append(bp)
            elif datamodel is not None and bp.datamodel \
                    and bp.datamodel.lower() == datamodel.lower():
                hits.append(bp)
        if not hits and generating is not None:
            dm = re.match(r"datamodel\s+([A-Za-z_]\w*)", generating)
            if dm:
                hits = [bp for bp in self.prefixes
                        if bp.datamodel and bp.datamodel.lower() == dm.group(1).lower()]
        if not hits:
            known = sorted({bp.datamodel for bp in self.prefixes if bp.datamodel}
                           | shelf_datamodels(self.catalog))
            near = closest(datamodel or generating or "", known)
            raise syntax_error(self.text, pos, "no catalog source is bound to the data model "
                               f"'{datamodel or generating}'", code="unknown_source",
                               hint=(f"did you mean {', '.join(near)}?" if near else
                                     f"data models in the catalog: {', '.join(known) or 'none'}"))
        hits.sort(key=lambda bp: (bp.generating is None, bp.source.origin != "builtin",
                                  not _reads_dataset(bp, dataset)))
        bp = hits[0]
        # tstats names fields by the root dataset (`Processes.process_name`); a data model
        # whose root is the model itself (Authentication) is the same name.
        return _Choice(SourceMatch(bp.source, set(), 1.0, []),
                       dataset_of(bp) or bp.datamodel or datamodel, bp.generating is not None)

    def _unknown(self, terms: list[SNode], pos: int) -> QueryError:
        wanted: dict[str, tuple[str, int]] = {}
        for t in [b for term in terms for b in source_branches(term) or []]:
            if isinstance(t, STerm) and t.field and isinstance(t.value, SValue) \
                    and t.field.lower() in {"index", "sourcetype", "source"}:
                wanted.setdefault(t.field.lower(), (t.value.text, t.pos))
        known = sorted({v for bp in self.prefixes for v in prefix_values(bp, "sourcetype")})
        if "sourcetype" in wanted:
            value, pos = wanted["sourcetype"]
            near = closest(value, known)
        elif "source" in wanted or "index" in wanted:
            value, pos = wanted.get("source") or wanted["index"]
            index = wanted.get("index", ("", 0))[0].lower()
            near = sorted({v for bp in self.prefixes for v in prefix_values(bp, "sourcetype")
                           if index and index in {i.lower() for i in
                                                  prefix_values(bp, "index")}}) \
                or closest(value, known)
            if not near and "source" not in wanted:
                indexes = {v for bp in self.prefixes for v in prefix_values(bp, "index")}
                hits = closest(value, indexes)
                if hits:
                    return syntax_error(self.text, pos, f"no catalog source is bound to "
                                        f"index={value}", code="unknown_source",
                                        hint=f"did you mean index={' or index='.join(hits)}?")
        else:
            value, near = "", []
        what = " ".join(f"{k}={v[0]}" for k, v in wanted.items()) or "this search"
        return syntax_error(self.text, pos, f"no catalog source is bound to {what}",
                            code="unknown_source",
                            hint=(f"closest sourcetypes: {', '.join(near[:5])}" if near else
                                  "start the search with the index and sourcetype of a "
                                  "catalog source (`lexiquery catalog list`)"))



def _reads_dataset(bp: BoundPrefix, dataset: str | None) -> bool:
    """Is `dataset` (from `datamodel=Model.Dataset`) this prefix's root or one of its child
    datasets (concepts)?"""
    if dataset is None:
        return True
    root = dataset_of(bp)
    return (root or "").lower() == dataset.lower() or bp.source.concept(dataset) is not None
