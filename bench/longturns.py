"""Long customer turns the way calls read, made from labelled questions with a fixed seed.

A real turn rarely is the bare question: the customer greets, gives a name, reads an
account or card number out in words, hesitates, apologises, tells a bit of the
story, and sometimes asks two things at once.  ``long_turns`` wraps each question
(banking77, DSTC11) in such material, and writes it the way recognition returns
it half of the time (lower case, no punctuation, numbers as words).  A turn made of
two questions keeps both intents: ``LongTurn.intents`` (the first is the one asked
first).  The wrapping never carries an intent's words, so the intent stays the
question's.

    python bench/longturns.py [--data ../shared/data] [--n 5]   # prints a few
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

_GREETINGS = [
    "hi", "hello", "hi there", "hello good morning", "good afternoon", "hey how are you",
    "hi yes hello", "oh hi", "good morning how are you doing today", "hello there thanks for "
    "picking up", "yeah hi", "hi um good evening",
]
_FIRST = ["john", "maria", "david", "priya", "chen", "fatima", "robert", "aisha", "tom",
          "olga", "james", "lucy", "mohammed", "sarah", "kevin", "ana"]
_LAST = ["smith", "garcia", "okafor", "nguyen", "patel", "kowalski", "brown", "haddad",
         "o'brien", "fischer", "tanaka", "martin", "silva", "jones"]
_NAME = [
    "my name is {first} {last}", "this is {first} {last}", "it's {first} here",
    "i'm {first} {last}", "my name's {first}", "{first} {last} speaking",
    "my name is {first} {last} that's {spelled}",
]
_NUMBER = [
    "my account number is {digits}", "the account number is {digits}",
    "my member number is {digits}", "my date of birth is the {day} of {month} {year}",
    "the last four of my card are {four}", "my phone number is {digits}",
    "my postcode is {postcode}", "the reference you gave me last time was {digits}",
    "i've got my card here it's {digits}",
]
_STORY = [
    "i've been a customer for about {years} years", "i'm calling from my car so sorry if it's "
    "noisy", "i was on hold for a while there", "i called last week and nobody got back to me",
    "sorry bear with me", "i hope you can help me", "i'm not very good with this stuff",
    "my daughter usually does this for me", "i'm at work at the moment", "this is my first "
    "time calling", "sorry i've just got the kids here", "i tried the website first",
]
_FILLER = ["um", "uh", "so", "like", "you know", "basically", "right so", "okay so",
           "i mean", "er", "well", "the thing is"]
_INTO = ["so i was wondering", "anyway the reason i'm calling is", "so basically",
         "and the thing is", "so yeah", "and um", "the reason for my call is", ""]
_JOIN = ["and also", "oh and another thing", "and while i have you", "also",
         "and one more thing", "and then second"]
_CLOSE = ["thanks", "thank you", "if you can", "that's it really", "please", "cheers",
          "thanks a lot", ""]
_DIGIT_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
                "nine"]
_MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august",
           "september", "october", "november", "december"]
_ORDINALS = ["first", "second", "third", "fourth", "fifth", "tenth", "twelfth",
             "fifteenth", "twentieth", "twenty third"]


@dataclass(frozen=True)
class LongTurn:
    """One generated turn.

    Attributes:
        text: the turn as heard.
        intents: the intents it asks, in the order asked (one or two).
    """

    text: str
    intents: tuple[str, ...]


def _digits(rng: random.Random, n: int) -> str:
    """A number read out: digit words, in groups, sometimes "double", sometimes figures."""
    numbers = [rng.randrange(10) for _ in range(n)]
    if rng.random() < 0.25:
        return "".join(str(d) for d in numbers)
    words, i = [], 0
    while i < n:
        if i + 1 < n and numbers[i] == numbers[i + 1] and rng.random() < 0.5:
            words.append("double " + _DIGIT_WORDS[numbers[i]])
            i += 2
            continue
        words.append(rng.choice(["oh", "zero"]) if numbers[i] == 0 else _DIGIT_WORDS[numbers[i]])
        i += 1
    return " ".join(words)


def _number(rng: random.Random) -> str:
    return rng.choice(_NUMBER).format(
        digits=_digits(rng, rng.choice([6, 8, 10])), four=_digits(rng, 4),
        day=rng.choice(_ORDINALS), month=rng.choice(_MONTHS),
        year=f"nineteen {rng.choice(['sixty', 'seventy', 'eighty', 'ninety'])} "
             f"{rng.choice(_DIGIT_WORDS[1:])}",
        postcode=f"{rng.choice('abcdeghklmnprstw')} {rng.choice(_DIGIT_WORDS)} "
                 f"{rng.choice(_DIGIT_WORDS)} {rng.choice('abdeghjlnpqrstuwxyz')}")


def _name(rng: random.Random) -> str:
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    return rng.choice(_NAME).format(first=first, last=last,
                                    spelled=" ".join(last.replace("'", "")[:5]))


def _hesitate(rng: random.Random, question: str) -> str:
    """Fillers and a restart inside the question, as people speak."""
    words = question.split()
    if len(words) > 3 and rng.random() < 0.5:
        at = rng.randrange(1, len(words) - 1)
        words.insert(at, rng.choice(_FILLER))
    if len(words) > 4 and rng.random() < 0.25:
        words = words[:2] + words  # "i want i want to ..."
    return " ".join(words)


def _as_heard(text: str) -> str:
    """The way recognition writes it: lower case, no punctuation but apostrophes."""
    kept = "".join(c if c.isalnum() or c in " '" else " " for c in text.lower())
    return " ".join(kept.split())


def _sentence(parts: Sequence[str]) -> str:
    out = ". ".join(p[0].upper() + p[1:] for p in parts if p)
    return out + ("?" if out.rstrip().endswith(("?",)) else ".")


def long_turn(rng: random.Random, questions: Sequence[tuple[str, str]]) -> LongTurn:
    """One turn wrapped around one or two (question, intent) pairs."""
    parts: list[str] = []
    if rng.random() < 0.8:
        parts.append(rng.choice(_GREETINGS))
    if rng.random() < 0.7:
        parts.append(_name(rng))
    if rng.random() < 0.5:
        parts.append(_number(rng))
    if rng.random() < 0.4:
        parts.append(rng.choice(_STORY).format(years=rng.choice(["two", "five", "ten", "twenty"])))
    asked = []
    for i, (question, _intent) in enumerate(questions):
        lead = rng.choice(_INTO) if i == 0 else rng.choice(_JOIN)
        body = _hesitate(rng, question.strip().rstrip(".!?"))
        if lead and body[:2] != "I ":
            body = body[:1].lower() + body[1:]
        asked.append(f"{lead} {body}".strip())
        if i == 0 and len(questions) > 1 and rng.random() < 0.3:
            asked.append(_number(rng))
    parts.extend(asked)
    if rng.random() < 0.5:
        parts.append(rng.choice(_CLOSE))
    text = _sentence(parts)
    if rng.random() < 0.5:
        text = _as_heard(text)
    return LongTurn(text, tuple(intent for _q, intent in questions))


def long_turns(questions: Sequence[tuple[str, str]], seed: int = 0, two_share: float = 0.2
               ) -> list[LongTurn]:
    """One long turn per question; ``two_share`` of them also ask a second question of
    another intent (drawn from the same list)."""
    rng = random.Random(seed)
    out = []
    for question, intent in questions:
        pair = [(question, intent)]
        others = [q for q in rng.sample(list(questions), min(20, len(questions)))
                  if q[1] != intent]
        if others and rng.random() < two_share:
            pair.append(others[0])
        out.append(long_turn(rng, pair))
    return out


if __name__ == "__main__":
    import argparse
    import csv
    from pathlib import Path

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path,
                        default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--n", type=int, default=5)
    args = parser.parse_args()
    with open(args.data / "banking77" / "train.csv", encoding="utf-8") as handle:
        rows = [(r["text"], r["category"]) for r in csv.DictReader(handle)]
    for turn in long_turns(random.Random(0).sample(rows, args.n)):
        print(turn.intents, "|", turn.text)
