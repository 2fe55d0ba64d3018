"""`python -m sequences serve|worker|migrate`."""

import sys

from leadflood_platform.server import main
from sequences.server import spec

main(spec, sys.argv)
