"""`python -m leads serve|worker|migrate`."""

import sys

from leadflood_platform.server import main
from leads.server import spec

main(spec, sys.argv)
