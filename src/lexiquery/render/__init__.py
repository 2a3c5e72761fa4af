"""Terminal output of the `lexiquery` command: answers and query operations (`answer`, `ops`),
runbooks and known errors (`sop`), agents (`agents`), cost (`cost`), on the consoles of
`console` (markup and emoji off, so user text prints as written)."""
