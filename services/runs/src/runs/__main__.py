"""`python -m runs serve|worker|migrate`."""

import sys

from leadflood_platform.server import main
from runs.server import spec

main(spec, sys.argv)
