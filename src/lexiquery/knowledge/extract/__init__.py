"""Extraction: procedures out of a runbook (`procedures`): its steps, the catalog names it uses
(`names`), sentence patterns (`rules`), definition sentences (`definitions`) and their binding
to the catalog and embedded queries (`bind`)."""
