"""The collection portal (`xlperf serve`): units upload their returns through a secret link and see their
findings at once; the office logs in, sees who is done and makes the summary and the report.

A Django project configured from the command line (``--data DIR``, ``--db URL``, passed to ``settings`` as
environment variables). It calls only the public library API (``import xlperf``); nothing of the validation,
the merge or the report is written here again. Needs the ``web`` extra: ``pip install '.[web]'``.
"""
