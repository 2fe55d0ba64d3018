"""Who enriches a lead: the sandbox (embedded default) and Hunter, behind one Enricher."""
