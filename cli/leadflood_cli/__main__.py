"""python -m leadflood_cli: what the installed `leadflood` wrapper runs."""

from __future__ import annotations

import sys

from leadflood_cli.commands import main

if __name__ == "__main__":
    sys.exit(main())
