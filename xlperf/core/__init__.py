"""What every stage shares: the exceptions (errors), findings and their catalog, every zh/en text
(messages), field keys and labels, A1 cells, the return-document model and the summary's markers, atomic
file writes, bundled data, worker processes, LibreOffice, exit codes, and the low-level xlsx parts
(sheetxml: rows as sheet XML spliced into a workbook; xlsxprivate: the XlsxWriter internals we rely on).
Imports nothing else of xlperf."""
