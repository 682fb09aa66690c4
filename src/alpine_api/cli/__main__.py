"""`python -m alpine_api.cli`: the same as the `alpine-api` command."""

from alpine_api.cli import main

main()
