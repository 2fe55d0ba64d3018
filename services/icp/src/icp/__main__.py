"""`python -m icp serve|worker|migrate`."""

import sys

from icp.server import spec
from leadflood_platform.server import main

main(spec, sys.argv)
