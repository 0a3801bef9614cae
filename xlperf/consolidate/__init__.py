"""Many checked returns -> one Consolidation: duplicates and the manifest resolved, every return's
rows made once in worker processes (rows: the summary tables' columns and their sheet XML) and kept in
the cache for the next merge. In: paths or FileResults. Out: Consolidation (tables + inputs + findings)."""
