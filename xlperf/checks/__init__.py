"""Checking a document: the schema pass (the framework's JSON Schema) and the business rules, each
finding placed on its cell; validate_paths runs intake + checks over many files in worker processes.
In: ReturnDocument dicts. Out: FileResult (document + findings)."""
