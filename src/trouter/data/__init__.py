"""Real benchmark data: files from a local mirror or upstream, loaders, seeded splits."""
