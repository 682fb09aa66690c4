"""`uv run python -m bench`: the whole-service load benchmark (see bench/load.py)."""

from bench.load import main

main()
