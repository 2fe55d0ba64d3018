"""Where the icp service finds people: the sandbox (embedded default) and Apollo, behind one SearchProvider."""
