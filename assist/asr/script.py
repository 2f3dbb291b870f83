"""The script Chinese transcripts are written in.

Whisper writes Mandarin in traditional characters as often as in simplified ones (廣州市
for 广州市), even within one call.  Every Chinese partial and final is put into one
script before anyone sees it, so the screen, the ``--jsonl`` stream, the store, the
phrase packs (written in simplified characters) and the KB all read the same text.

The converter is OpenCC's dictionaries through ``opencc-pyo3`` (Rust): chosen by
``bench/zh_script.py`` for being right most often on call vocabulary among the
permissively licensed converters on PyPI (the MediaWiki-based ones, zhconv and zhconv-rs,
are GPL), about 1 µs a 30-character line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

SIMPLIFIED, TRADITIONAL, AS_HEARD = "simplified", "traditional", "as-heard"
SCRIPTS = (SIMPLIFIED, TRADITIONAL, AS_HEARD)

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")

# OpenCC writes 帳 as 帐 (curtain, tent), but in a call 帳 is the account: 帳戶, 帳單, 轉帳
# are 账户, 账单, 转账 today (and in the phrase packs).  Written as 賬 first, it converts
# to 账; the tent and curtain words keep 帳.
_ACCOUNT = re.compile(r"(?<![蚊營帷羅紗床])帳(?![篷幕子])")


@lru_cache(maxsize=2)
def _opencc(config: str) -> Any:
    from opencc_pyo3 import OpenCC

    return OpenCC(config)


def simplified(text: str) -> str:
    """``text`` in simplified characters (a text without Chinese characters as it is)."""
    if not _HAN.search(text):
        return text
    return str(_opencc("t2s").convert(_ACCOUNT.sub("賬", text)))


def traditional(text: str) -> str:
    """``text`` in traditional characters."""
    if not _HAN.search(text):
        return text
    return str(_opencc("s2t").convert(text))


def converts(language: str | None, script: str) -> bool:
    """Whether text recognised in ``language`` is converted for ``script``: Chinese only."""
    return script != AS_HEARD and language is not None and language.split("-")[0].lower() == "zh"


def to_script(text: str, script: str) -> str:
    """``text`` in ``script`` (``as-heard`` leaves it as the recogniser wrote it)."""
    if script == SIMPLIFIED:
        return simplified(text)
    if script == TRADITIONAL:
        return traditional(text)
    return text


def words_to_script(words: Sequence[str], script: str) -> list[str]:
    """Each word in ``script``, converted as one text (a phrase's sense decides a character:
    著急 -> 着急, 著名 stays) and cut back into the same words."""
    joined = "".join(words)
    converted = to_script(joined, script)
    if len(converted) != len(joined):  # a rule changed the length: word by word, then
        return [to_script(w, script) for w in words]
    out, at = [], 0
    for word in words:
        out.append(converted[at:at + len(word)])
        at += len(word)
    return out


def warm(script: str) -> None:
    """Load the converter now (about 0.1 s) rather than on the first Chinese words."""
    to_script("廣州", script)
