"""Benchmarks: `./loa bench` lists them, `./loa bench NAME [--quick] [--database-url URL]` runs one and
prints one JSON object per result line on stdout (progress goes to stderr)."""
