"""`python -m lexiquery`: the same command as `lexiquery` (the fleet starts its services so, with
the interpreter that runs `up`, whether or not the console script is on PATH)."""

from lexiquery.cli import app

if __name__ == "__main__":
    app(prog_name="lexiquery")
