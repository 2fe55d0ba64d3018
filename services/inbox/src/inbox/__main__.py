"""`python -m inbox serve|worker|migrate`."""

import sys

from inbox.server import spec
from leadflood_platform.server import main

main(spec, sys.argv)
