"""Countries as filter values: "outside the US", "from Germany", "in the UK or Canada".

There is no country entity kind in the catalog; a source holds a country in a text field whose
name, synonyms or description say "country" (sign-in logs: `location`, a two-letter code). A word
becomes a country value only where a place stands — right after "from", "in", "outside" (of),
"to", "except"/"excluding", optionally through "the" — and only when it is a two-letter ISO code
written in capitals ("US", "NG") or a well-known country name. The value is the ISO 3166-1
alpha-2 code, the form such fields hold.

    country_field(src)            the source's country field, or None
    country_at(tokens, i)         (ISO code, tokens it spans) of a country name or code at token i
    after_place_word(tokens, i)   is token i written where a place stands?
    country_list(st, k)           the codes of a country (list) at item k, and its last item
"""

from __future__ import annotations

import re

from lexiquery.catalog.model import FieldType, Source
from lexiquery.nl.state import State
from lexiquery.nl.tokens import Token

# ISO 3166-1 alpha-2 codes (officially assigned).
_CODES = frozenset("""
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS
BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE
EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM
HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC
LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA
NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW
SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO
TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW""".split())

_NAMES: dict[str, str] = {
    "united states": "US", "united states of america": "US", "usa": "US", "america": "US",
    "us": "US", "u.s.": "US", "united kingdom": "GB", "uk": "GB", "great britain": "GB",
    "britain": "GB", "england": "GB", "canada": "CA", "mexico": "MX", "brazil": "BR",
    "argentina": "AR", "chile": "CL", "colombia": "CO", "peru": "PE", "venezuela": "VE",
    "germany": "DE", "france": "FR", "spain": "ES", "portugal": "PT", "italy": "IT",
    "netherlands": "NL", "the netherlands": "NL", "holland": "NL", "belgium": "BE",
    "switzerland": "CH", "austria": "AT", "ireland": "IE", "sweden": "SE", "norway": "NO",
    "denmark": "DK", "finland": "FI", "iceland": "IS", "poland": "PL", "czechia": "CZ",
    "czech republic": "CZ", "slovakia": "SK", "hungary": "HU", "romania": "RO",
    "bulgaria": "BG", "greece": "GR", "turkey": "TR", "türkiye": "TR", "ukraine": "UA",
    "russia": "RU", "russian federation": "RU", "belarus": "BY", "moldova": "MD",
    "serbia": "RS", "croatia": "HR", "slovenia": "SI", "estonia": "EE", "latvia": "LV",
    "lithuania": "LT", "luxembourg": "LU", "israel": "IL", "iran": "IR", "iraq": "IQ",
    "syria": "SY", "saudi arabia": "SA", "united arab emirates": "AE", "uae": "AE",
    "qatar": "QA", "egypt": "EG", "nigeria": "NG", "kenya": "KE", "south africa": "ZA",
    "ghana": "GH", "morocco": "MA", "algeria": "DZ", "ethiopia": "ET", "india": "IN",
    "pakistan": "PK", "bangladesh": "BD", "china": "CN", "hong kong": "HK", "taiwan": "TW",
    "japan": "JP", "south korea": "KR", "korea": "KR", "north korea": "KP", "vietnam": "VN",
    "thailand": "TH", "malaysia": "MY", "singapore": "SG", "indonesia": "ID",
    "philippines": "PH", "the philippines": "PH", "australia": "AU", "new zealand": "NZ",
    "kazakhstan": "KZ", "uzbekistan": "UZ", "afghanistan": "AF", "cuba": "CU",
}
_MAX_NAME_WORDS = 4
# Words after which a country is a place: "from", "in", "outside (of)", "to", "except" ...
_PLACE_WORDS = frozenset({"from", "in", "outside", "to", "within", "inside", "except",
                          "excluding", "than", "besides", "not"})
_JOINERS = frozenset({",", "or", "and", "nor"})
_SKIP = frozenset({"the", "of"})
_COUNTRY_WORDS = re.compile(r"\bcountr(y|ies)\b", re.IGNORECASE)


def country_field(src: Source) -> str | None:
    """The source's one text field for a country (by name, synonym or description)."""
    hits = [f.name for f in src.fields if f.type is FieldType.string and f.entity is None and (
        _COUNTRY_WORDS.search(" ".join([f.name, *f.synonyms, f.description])))]
    return hits[0] if len(hits) == 1 else None


def country_at(tokens: list[Token], i: int) -> tuple[str, int] | None:
    """(ISO code, number of tokens) of a country written at token i: an upper-case ISO code or
    a known name (the longest that fits)."""
    t = tokens[i]
    if t.kind not in {"word", "domain"}:
        return None
    if t.kind == "word" and len(t.text) == 2 and t.text.isupper() and t.text in _CODES:
        return t.text, 1
    for n in range(min(_MAX_NAME_WORDS, len(tokens) - i), 0, -1):
        words = tokens[i:i + n]
        if any(w.kind not in {"word", "domain"} for w in words):
            continue
        name = " ".join(w.low for w in words)
        code = _NAMES.get(name)
        if code is None:
            continue
        if n == 1 and not (words[0].text[:1].isupper()):  # "us", "turkey" in lower case
            continue
        return code, n
    return None


def after_place_word(tokens: list[Token], i: int) -> bool:
    """Is token i written where a place stands (after "from", "outside the", "in", ...)?"""
    j = i - 1
    while j >= 0 and tokens[j].low in _SKIP:
        j -= 1
    return j >= 0 and tokens[j].low in _PLACE_WORDS


def country_list(st: State, k: int) -> tuple[list[str], int] | None:
    """Codes of the countries written from item k on, where a place stands ("outside the US",
    "from Germany or France"), and the index of the last item read; None if item k is none."""
    it = st.items[k]
    if it.used or it.kind not in {"word", "value"} or not after_place_word(st.tokens, it.i0):
        return None
    codes: list[str] = []
    ti, last = it.i0, k
    while True:
        hit = country_at(st.tokens, ti)
        if hit is None:
            break
        code, n = hit
        end = ti + n  # one past the last token of the name
        last = max((x for x, i in enumerate(st.items) if i.i0 < end), default=last)
        if code not in codes:
            codes.append(code)
        j = end
        while j < len(st.tokens) and st.tokens[j].low in _JOINERS | _SKIP:
            j += 1
        if j == end or j >= len(st.tokens) or country_at(st.tokens, j) is None:
            break
        ti = j
    return (codes, last) if codes else None
