"""The one look-up of every zh/en text table (the command line's, the results', the merge's reasons, the
report's): a key gives (Chinese, English), formatted with the values named in it."""
from __future__ import annotations


def pick(texts: dict[str, tuple[str, str]], key: str, lang: str, **values) -> str:
    """``texts[key]`` in ``lang`` (``zh``, anything else English), with ``values`` filled in."""
    zh, en = texts[key]
    return (zh if lang == "zh" else en).format(**values)
