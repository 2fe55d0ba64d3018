"""`leadflood`: the command line for the internal teams: dead letters, lead runs, alerts, queue health."""
