"""Getting a file's contents in safely: the preflight (size, structure and zip-bomb checks before any
parser runs), the workbook reader (a return or a summary -> ReturnDocument dicts plus read findings), and
project lists (CSV/XLSX -> projects). In: paths. Out: documents and findings. Uses core and framework."""
