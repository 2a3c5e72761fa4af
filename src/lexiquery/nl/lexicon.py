"""Generic English vocabulary of the rules engine: a tiny stemmer, stop words and keyword phrases.

Nothing here names a catalog source or field. Catalog phrases (source names, field synonyms,
concepts, known-value meanings) and these keyword phrases are both normalised with `stem_words`,
so "sorted by" / "sort by" or "sign-ins" / "sign in" meet on the same stems.

Keyword phrases map to a `Kw` (category, argument). Categories:

    op        comparison operator (arg: ir.Operator value)
    neg       negation ("not", "except", "other than", ...)
    postop    comparison written after the number ("5 or more")
    agg       metric word (arg: count | distinct | sum | avg | min | max | median | first | last)
    group     "by" / "per" / "for each" / "grouped by"
    by        a bare "by": grouping before a field, actor/parent before a value
    top       top / most (arg: desc) and bottom / least (arg: asc)
    sort      "sorted by"; dir: "descending"/"ascending"; order: "most recent first" ...
    limit     "limit", "first"; latest: "last"/"latest" before a count
    show      show / list / display ...
    role      src | dst | parent (who did it / to where / launched by)
    unit      a time unit word (arg: ir.TimeUnit value); bucket: "hourly", "over time" ...
    noun      countable nouns that are not fields ("events", "times", "attempts")
    conj      "and" / "or" (arg) ; "with"/"having" (arg: with)
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

_DOUBLE_OK = frozenset("lsz")


@lru_cache(maxsize=8192)
def stem(word: str) -> str:
    """A deliberately small, deterministic suffix stripper (plural, -ed, -ing, -ful, -ure, -e).

    It only has to make the same word forms meet on both sides (catalog and question), so it
    favours predictability over linguistic accuracy."""
    w = word.lower()
    if len(w) < 3 or not w.isalpha():
        return w
    if w.endswith(("ies", "ied")) and len(w) > 4:
        w = w[:-3] + "y"
    elif w.endswith("sses"):
        w = w[:-2]
    elif w.endswith(("xes", "ches", "shes")):
        w = w[:-2]
    elif w.endswith("s") and not w.endswith(("ss", "us", "is", "as", "os")):
        w = w[:-1]
    if len(w) > 5:
        for suf in ("ing", "ful", "ure", "ed"):
            if w.endswith(suf) and not (suf == "ed" and w.endswith("eed")):
                w = w[: -len(suf)]
                if len(w) > 3 and w[-1] == w[-2] and w[-1] not in _DOUBLE_OK and w[-1].isalpha():
                    w = w[:-1]  # stopped -> stop, logged -> log
                break
    if len(w) > 4 and w.endswith("e") and not w.endswith("ee"):
        w = w[:-1]
    return w


_SPLIT = re.compile(r"[^\w!=<>~]+|_")


def stem_words(text: str) -> tuple[str, ...]:
    """Normalise a phrase to stems: lower case, hyphens/underscores/punctuation split words."""
    return tuple(stem(p) for p in _SPLIT.split(text.lower()) if p)


STOPWORDS = frozenset(
    """a an the of in on at for to from with by and or is are was were be been being that which
    who whom whose what when where how do does did have has had me my i we our us you your please
    can could would should will there their them they it its this these those all any some as
    into than then so such only just also tell know want need see let lets give get find show
    list display return fetch pull look up out about were each every one ones did done""".split())
STOP_STEMS = frozenset(stem(w) for w in STOPWORDS)

# Prepositions, adverbs and other function words that are not stop words (they carry meaning
# elsewhere) but are never a name: "bytes sent per user through the firewall" is not user
# "through".
FUNCTION_WORDS = frozenset(
    """through thru via across over under within during after before since until till between
    among against along around behind beyond inside outside onto upon near off like unlike
    toward towards per versus vs via while whilst because although though unless whether
    either neither both other others another same many much more most less least few several
    very too quite rather really recently currently already still again ever never often
    usually sometimes always here there now today yesterday tonight instead""".split())

# Words that structure a question; a single catalog word equal to one of these never wins.
NUMBER_WORDS: dict[str, int] = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15,
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "hundred": 100,
    "couple": 2, "few": 3,
}


class Kw(NamedTuple):
    cat: str
    arg: str = ""


_RAW: dict[str, list[str]] = {
    "op:eq": ["is", "=", "==", "equals", "equal to", "is equal to", "equal", "named", "called",
              "of type", "set to", "being"],
    "op:ne": ["!=", "<>", "is not", "isn't", "not equal to", "does not equal", "doesn't equal",
              "is other than", "are not", "aren't", "was not", "wasn't", "were not"],
    "op:gt": [">", "more than", "greater than", "over", "above", "exceeding", "exceeds",
              "exceed", "higher than", "bigger than", "larger than", "longer than",
              "slower than", "is more than", "is greater than", "is over", "is above"],
    "op:ge": [">=", "at least", "no less than", "no fewer than", "minimum of", "=>"],
    "op:lt": ["<", "less than", "below", "under", "fewer than", "lower than", "smaller than",
              "shorter than", "faster than", "is less than", "is below", "is under"],
    "op:le": ["<=", "at most", "no more than", "up to", "maximum of", "=<"],
    "op:contains": ["contains", "containing", "contain", "includes", "including", "like",
                    "matching", "has", "with the text", "mentioning", "mentions"],
    "op:not_contains": ["does not contain", "doesn't contain", "not containing",
                        "do not contain", "don't contain", "not like", "not matching"],
    "op:startswith": ["starts with", "starting with", "begins with", "beginning with",
                      "start with", "begin with", "prefixed with", "prefix"],
    "op:endswith": ["ends with", "ending with", "end with", "ending in", "ends in",
                    "suffixed with", "suffix"],
    "op:regex": ["matches regex", "matching regex", "matches the regex", "matches pattern",
                 "regex", "matches the pattern", "=~", "~"],
    "op:exists": ["is set", "is present", "exists", "is not empty", "not empty", "non-empty",
                  "has a value", "is known", "is not null", "present"],
    "op:not_exists": ["is empty", "is missing", "is null", "missing", "no value", "is blank",
                      "is unknown", "empty", "blank"],
    "neg:": ["not", "no", "except", "excluding", "exclude", "other than", "without",
             "but not", "apart from", "ignoring", "ignore", "never", "non", "excluded",
             "everything except", "anything but", "aside from", "besides", "outside",
             "outside of"],
    "postop:ge": ["or more", "or greater", "or higher", "or above", "+"],
    "postop:le": ["or less", "or fewer", "or lower", "or below"],
    "agg:count": ["count", "how many", "number of", "count of",
                  "tally", "volume of", "total number of"],
    "agg:distinct": ["distinct", "unique", "different", "distinct count of", "dcount"],
    "agg:sum": ["sum", "total", "sum of", "total of", "summed"],
    "agg:avg": ["average", "avg", "mean", "average of"],
    "agg:min": ["min", "minimum", "lowest", "smallest", "least amount of"],
    "agg:max": ["max", "maximum", "highest", "largest", "biggest", "peak"],
    "agg:median": ["median"],
    "agg:pct": ["percentile", "pctl", "quantile", "percentile of"],
    "agg:firstlast": ["first and last seen", "first and last time seen", "first/last seen",
                      "first and last appearance"],
    "agg:first": ["first seen", "first time seen", "earliest", "first appearance"],
    "agg:last": ["last seen", "last time seen", "most recent time", "last heard from",
                 "last contact", "last report", "last reported"],
    "group:": ["per", "for each", "for every", "grouped by", "group by", "broken down by",
               "split by", "broken out by", "break down by", "bucketed by", "each", "by each"],
    "by:": ["by"],
    "top:desc": ["top", "most", "most common", "most frequent", "most active", "the most",
                 "most often", "noisiest", "busiest", "slowest"],
    "top:asc": ["bottom", "least", "least common", "least frequent", "least active",
                "rarest", "fewest", "the least", "fastest"],
    "sort:": ["sorted by", "sort by", "order by", "ordered by", "sorting by", "ranked by",
              "rank by", "sorted on", "order them by"],
    "dir:desc": ["descending", "desc", "highest first", "largest first", "biggest first",
                 "in descending order", "most first", "high to low"],
    "dir:asc": ["ascending", "asc", "lowest first", "smallest first", "in ascending order",
                "low to high", "alphabetical", "alphabetically"],
    "order:desc": ["most recent first", "newest first", "latest first", "recent first",
                   "newest on top", "latest on top", "reverse chronological"],
    "order:asc": ["oldest first", "earliest first", "chronological", "chronologically",
                  "in order of time", "oldest on top"],
    "limit:": ["limit", "limit to", "first", "only the first", "at most the first"],
    "latest:": ["last", "latest", "most recent", "newest", "recent"],
    "show:": ["show", "list", "display", "give me", "return", "fetch", "print", "get",
              "find", "which", "what", "what are", "who", "pull", "output", "see"],
    "cols:": ["only", "just", "columns", "fields", "with columns", "with fields",
              "only the columns", "project"],
    "role:src": ["from", "source", "src", "originating from", "coming from", "origin",
                 "client", "initiated by", "made by", "performed by", "done by", "caused by"],
    "role:dst": ["to", "towards", "toward", "destination", "dest", "dst", "target",
                 "targeting", "into", "against", "destined for", "going to", "connecting to",
                 "reaching", "hitting", "remote", "contacting", "for target"],
    "role:parent": ["launched by", "spawned by", "started by", "created by", "executed by",
                    "run by", "parent", "child of", "children of", "spawned from",
                    "child", "children", "spawned under", "descendants of",
                    "launched from", "invoked by", "called by", "opened by"],
    "bucket:": ["over time", "trend", "trending", "timeline", "time series", "timeseries",
                "timechart", "histogram", "chart", "graph", "plot", "per unit of time",
                "through time", "as a trend"],
    "noun:": ["event", "times", "time", "attempts", "attempt", "occurrences", "occurrence",
              "records", "record", "entries", "entry", "rows", "row", "hits", "hit", "log",
              "logs", "results", "items", "tries", "instances", "responses", "executions",
              "execution", "ran", "run", "runs", "executed", "occurred", "happened",
              "observed", "recorded", "activity", "activities", "data", "seen", "appeared",
              "appear", "appears", "showed up", "happening", "going on"],
    "conj:or": ["or", "and/or", "either"],
    "conj:and": ["and", "&", "as well as", "plus"],
    "conj:with": ["with", "having", "that have", "that had", "who have", "who had", "has had",
                  "that has", "who has", "where", "whose", "that", "which have"],
}


def _build() -> dict[tuple[str, ...], Kw]:
    table: dict[tuple[str, ...], Kw] = {}
    for key, phrases in _RAW.items():
        cat, _, arg = key.partition(":")
        for p in phrases:
            words = stem_words(p) if re.search(r"\w", p) else (p,)
            table.setdefault(words, Kw(cat, arg))  # first listing wins: keeps "is" as eq
    return table


KEYWORDS: dict[tuple[str, ...], Kw] = _build()
KW_MAXLEN = max(len(k) for k in KEYWORDS)
# Single stems a catalog phrase may not claim: they carry the question's structure.
RESERVED = frozenset(k[0] for k, v in KEYWORDS.items()
                     if len(k) == 1 and v.cat not in {"noun", "latest", "show", "role"})

TIME_UNITS: dict[str, str] = {}
for _unit, _words in {
    "second": ["s", "sec", "secs", "second", "seconds"],
    "minute": ["m", "min", "mins", "minute", "minutes"],
    "hour": ["h", "hr", "hrs", "hour", "hours"],
    "day": ["d", "day", "days"],
    "week": ["w", "wk", "wks", "week", "weeks"],
}.items():
    for _w in _words:
        TIME_UNITS[_w] = _unit

# Things the IR cannot express: (pattern, what). Matched on the lower-cased question.
UNSUPPORTED: list[tuple[re.Pattern[str], str]] = [(re.compile(p), w) for p, w in [
    (r"\b(compared? (to|with)|versus|vs\.?|week over week|day over day|than (last|the previous)"
     r" (week|day|month)|baseline)\b", "comparison with another period or baseline"),
    # "an unusual number of ..." is a vague threshold (nl.vague), not anomaly detection
    (r"\b(anomal\w*|outliers?|unusual|abnormal|spikes?|deviat(es|ing) from)\b"
     r"(?!\s+(number|amount|count|volume|quantity)s?\b)", "anomaly detection"),
    (r"\b(geolocat\w*|geo-?locat\w*|geoip|geo ip|ip location lookup)\b", "IP geolocation"),
    (r"\b(impossible travel|distance between)\b", "impossible-travel / geographic distance"),
    (r"\b(join(ed|ing)?|correlat\w*|cross-?referenc\w*|enrich\w*)\b",
     "joining or correlating with another source"),
    (r"\b(who|that|which) also\b|\bin (both|either)\b|\bsub-?query\b",
     "a subquery over another result set"),
    (r"\b(predict\w*|forecast\w*)\b", "forecasting"),
    (r"\b(for the first time|never (been )?seen before|previously unseen|new(ly)? seen)\b",
     "first-time-seen detection (needs a baseline of earlier data)"),
    (r"\b(stopped|stop|ceased|quit) (sending|reporting|logging|responding)\b|\bno longer\b"
     r"|\bwent (silent|quiet|dark)\b|\bnot (been )?(seen|heard from) (since|in)\b"
     r"|\b(haven'?t|hasn'?t|have not|has not) (sent|reported|checked in)\b",
     "comparing the last-seen time with now (a staleness threshold)"),
    (r"\b(no|zero|without any|missing) (heartbeats?|events?|logs?|data|records?|sign-?ins?"
     r"|logons?|traffic|activity)\b",
     "finding what sent nothing in a period (needs the list of expected entities)"),
    (r"\b(percentage|proportion|share|fraction) of\b|\bwhat (percent|fraction)\b|\bratios?\b"
     r"|\b(failure|success|error) rate\b", "percentages or ratios of aggregates"),
    (r"\b(st(andar)?d ?dev\w*|variance)\b", "standard deviation / variance"),
    (r"\b(time between|duration between|sessioni[sz]\w*|session length)\b",
     "time between events / sessions"),
    (r"\b(alert me|notify|send (an )?e-?mail|schedul\w*)\b", "alerting or scheduling"),
    (r"\b(median|percentile) of (the )?(count|number)", "a percentile of an aggregate"),
]]

STALE_WHAT = "comparing the last-seen time with now (a staleness threshold)"
ABSENT_WHAT = "finding what sent nothing in a period (needs the list of expected entities)"
