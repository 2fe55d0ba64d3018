"""`make bench`: Lead Flood's performance figures, each beside the raw limit of the part it depends on."""
