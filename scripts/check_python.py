"""Fail early, and say why, when the interpreter is too old for userdb."""

import sys

if sys.version_info < (3, 11):
    found = ".".join(map(str, sys.version_info[:3]))
    sys.exit(f"userdb needs Python 3.11 or newer; found {found}. Run: make PYTHON=python3.11 ...")
