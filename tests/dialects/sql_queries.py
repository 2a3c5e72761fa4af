from lexiquery.catalog.builtin import builtin_catalog
GOLDEN_QUERIES = {}
