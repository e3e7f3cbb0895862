"""`python -m bench`: the whole benchmark (bench/suite.py)."""

from bench.suite import main

main()
