"""Book ingest and text preparation: files → chapters → sentences → work units."""
