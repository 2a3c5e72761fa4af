"""`lexiquery cost [JOURNEY_ID]`: what the model calls of recent journeys, or of one, cost.

Reads the cost store of `LEXIQUERY_COST_BACKEND` (SQLite in the data directory by default,
or Redis). `--json` prints what the API answers: a list of journey summaries, or
``{summary, records}`` for one journey. Exit codes as everywhere: 2 for a journey with no
record, 5 when the store cannot be read. Registered on the main app by `lexiquery.cli`.
"""

from __future__ import annotations

import json
from typing import Optional

import typer

from lexiquery.cli.app import app, fail

NO_JOURNEY_HINT = "`lexiquery cost` lists the journeys with model calls (a journey the rules " \
                  "engine answered without Ollama has none); `lexiquery history` lists them all"


@app.command()
def cost(
    journey_id: Optional[str] = typer.Argument(
        None, metavar="[JOURNEY_ID]", show_default=False,
        help="Show this journey's calls and its totals by service and by model."),
    limit: int = typer.Option(20, "--limit", "-n", min=1, max=10000,
                              help="How many recent journeys to list."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """The cost of recent journeys (tokens, compute seconds, estimated cost), or of one
    journey call by call.

    \b
    Examples:
      lexiquery cost
      lexiquery cost 3f2a9c0e5b7d4e1f8a6b2c4d9e0f1a2b --json
    """
    from lexiquery.config import get_settings
    from lexiquery.cost.store import open_cost_store
    from lexiquery.errors import InputError, LexiQueryError

    try:
        store = open_cost_store(get_settings())
        try:
            if journey_id is None:
                recent = store.recent(limit)
            else:
                records = store.records(journey_id.strip())
                if not records:
                    message = f"no cost records for journey {journey_id!r}"
                    raise InputError(message, hint=NO_JOURNEY_HINT,
                                     issues=[{"code": "unknown_journey", "message": message}])
        finally:
            store.close()
    except LexiQueryError as e:
        fail(e, as_json)
        return
    from lexiquery.cost.summary import summarize

    if journey_id is None:
        if as_json:
            typer.echo(json.dumps([c.model_dump(mode="json") for c in recent], indent=2))
            return
        from lexiquery.render.cost import print_recent_costs

        print_recent_costs(recent)
        return
    summary = summarize(records, journey_id.strip())
    if as_json:
        typer.echo(json.dumps({"summary": summary.model_dump(mode="json"),
                               "records": [r.model_dump(mode="json") for r in records]},
                              indent=2))
        return
    from lexiquery.render.cost import print_journey_cost

    print_journey_cost(summary, records)
