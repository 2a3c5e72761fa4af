"""Natural language → `QueryPlan`.

`lexiquery.nl.rules.parse_question` is the deterministic, catalog-driven rules engine (no model
needed; the default when no local LLM runs). Its modules, in pipeline order: timeparse/dates
(time ranges and buckets), tokens (typed values), index/match (catalog phrases, cached per
catalog), source_select (which source), aggregate/ordering (grouping, metrics, ranking, sort,
limit, projection), filters/valuelists/values (conditions), finish (defaults, confidence).
Nothing here names a catalog source or field; the vocabulary in lexicon is generic English.
"""
