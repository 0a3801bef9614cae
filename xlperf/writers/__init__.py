"""Everything xlperf writes: locked templates (template, sendout, prefill), the annotated copy, the
summary workbook, the CSV/JSON/Parquet exports, the published report (.docx/.pdf), and workbooks
imported from old Word documents (importer). In: plans, FileResults, a Consolidation. Out: files,
written atomically."""
