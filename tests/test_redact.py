"""Redaction on the labelled set: no card number or security code survives; look-alikes stay."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from assist.redact import RedactionOptions, Redactor, luhn, redact, redact_text

DATA = Path(__file__).parent / "data" / "redaction.tsv"
LABEL = re.compile(r"\[(CARD|CVV|ACCOUNT|PHONE|EMAIL)\]")


def _rows() -> list[dict[str, str]]:
    lines = [line for line in DATA.read_text(encoding="utf-8").splitlines()
             if line and not line.startswith("#")]
    header = lines[0].split("\t")
    return [dict(zip(header, line.split("\t"), strict=True)) for line in lines[1:]]


ROWS = _rows()


def _digits(text: str) -> str:
    """Every digit left in a text, said as a numeral or a digit word."""
    words = {"zero": "0", "oh": "0", "one": "1", "two": "2", "three": "3", "four": "4",
             "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9"}
    out = []
    for token in re.findall(r"[A-Za-z]+|\d", text.lower()):
        out.append(token if token.isdigit() else words.get(token, ""))
    return "".join(out)


def test_the_set_is_big_enough_and_covers_both_ways_of_saying():
    assert len(ROWS) >= 100
    categories = {row["category"] for row in ROWS}
    assert {"card", "cvv", "phone", "email", "account", "lookalike"} <= categories
    for category in ("card", "cvv", "phone", "email"):
        texts = [row["text"] for row in ROWS if row["category"] == category]
        assert any(re.search(r"\d", t) or "@" in t for t in texts), category
        assert any(not re.search(r"\d", t) and "@" not in t for t in texts), category
    assert sum(row["category"] == "lookalike" for row in ROWS) >= 40


@pytest.mark.parametrize("row", [r for r in ROWS if r["category"] in ("card", "cvv")],
                         ids=lambda r: r["text"][:40])
def test_no_card_number_or_security_code_survives(row):
    out = redact_text(row["text"], context=row["context"])
    assert out == row["expected"]
    # belt and braces: none of the sensitive digits are left, in any spelling
    assert len(_digits(out)) <= len(_digits(row["expected"]))


def test_recall_per_type_and_lookalikes_report():
    found, expected, wrongly = {}, {}, []
    for row in ROWS:
        out = redact_text(row["text"], context=row["context"])
        if row["category"] == "lookalike":
            if out != row["text"]:
                wrongly.append((row["text"], out))
            continue
        for kind in LABEL.findall(row["expected"]):
            expected[kind] = expected.get(kind, 0) + 1
        for kind in set(LABEL.findall(row["expected"])):
            hits = min(LABEL.findall(out).count(kind), LABEL.findall(row["expected"]).count(kind))
            found[kind] = found.get(kind, 0) + hits
    recall = {kind: found.get(kind, 0) / n for kind, n in expected.items()}
    print("recall", recall, "look-alikes wrongly redacted", wrongly)
    assert recall["CARD"] == 1.0 and recall["CVV"] == 1.0
    assert min(recall.values()) >= 0.9, recall
    assert len(wrongly) <= 2, wrongly


def test_luhn():
    assert luhn("4539526018159083")
    assert not luhn("4539526018159084")


def test_positions_are_kept():
    result = redact("Call me on 07700 900123 please")
    assert result.text == "Call me on [PHONE] please"
    (r,) = result.redactions
    assert (r.kind, r.start, r.end) == ("phone", 11, 23)
    assert result.text[r.out_start:r.out_end] == "[PHONE]"
    assert result.map_offset(24) == result.text.index("please")
    assert result.map_offset(3) == 3


def test_options_per_type_and_master_switch():
    text = "card 4539 5260 1815 9083, email john dot smith at gmail dot com"
    assert redact_text(text) == "card [CARD], email [EMAIL]"
    assert redact_text(text, RedactionOptions(emails=False)) == \
        "card [CARD], email john dot smith at gmail dot com"
    assert redact_text(text, RedactionOptions(cards=False)) == \
        "card 4539 5260 1815 9083, email [EMAIL]"
    assert redact_text(text, RedactionOptions(enabled=False)) == text


def test_luhn_only_keeps_a_bad_checksum_without_a_card_word():
    text = "it's 4539 5260 1815 9084"
    assert redact_text(text) == "it's [CARD]"
    assert redact_text(text, RedactionOptions(luhn_only=True)) == text


def test_redactor_uses_the_previous_utterance():
    redactor = Redactor()
    assert redactor("And the three digits on the back?").text == "And the three digits on the back?"
    assert redactor("Seven eight nine.").text == "[CVV]."
    assert redactor("Thank you.").text == "Thank you."
    assert redactor("Seven eight nine.").text == "Seven eight nine."


def test_placeholders_are_stable_under_a_second_pass():
    once = redact_text("card 4539 5260 1815 9083 and mail a.b@c.com")
    assert redact_text(once) == once
