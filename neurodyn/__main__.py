"""`python -m neurodyn`: the command line."""

from .cli import main

main()
