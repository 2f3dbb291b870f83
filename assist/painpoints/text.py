"""Which customer utterances carry a problem, and the problem statement cut out of them."""

from __future__ import annotations

import re

_FILLER = {
    "yes", "yeah", "yep", "yup", "no", "nope", "nah", "ok", "okay", "sure", "right", "alright",
    "all", "fine", "great", "good", "perfect", "cool", "thanks", "thank", "you", "so", "much",
    "very", "hi", "hello", "hey", "morning", "afternoon", "evening", "bye", "goodbye", "uh", "um",
    "uhm", "hmm", "mm", "mhm", "ah", "oh", "please", "sorry", "that's", "thats", "it", "is", "i",
    "see", "got", "understood", "correct", "exactly", "true", "well", "and", "a", "the", "have",
    "nice", "day", "wonderful", "awesome", "cheers", "there", "hold", "on", "one", "moment", "sec",
    "second", "just", "was", "be", "that", "this", "do", "go", "ahead", "me", "for", "helping",
    "your", "help", "appreciate", "welcome", "bad", "not", "too", "yes,", "am", "still",
    "here", "speaking", "can", "hear", "now", "wait", "let", "check", "minute",
}
_PROBLEM_CUES = re.compile(
    r"\b(can'?t|cannot|can not|won'?t|couldn'?t|didn'?t|doesn'?t|don'?t|isn'?t|wasn'?t|haven'?t|"
    r"hasn'?t|not|never|no longer|problem|issue|error|wrong|fail\w*|declin\w*|reject\w*|charg\w*|"
    r"fee|lost|stolen|missing|broke\w*|block\w*|locked|frozen|refund\w*|cancel\w*|dispute|fraud\w*|"
    r"still|again|why|how|where|when|what|unable|need|want|trying|tried|help|change|update|"
    r"close|open|transfer\w*|pending|late|delay\w*|twice|double|owe|bill\w*|pay\w*|quote|claim|"
    r"report|complain\w*|stuck|crash\w*|expired?|received?|arriv\w*|activat\w*|verify|reset)\b",
    re.I)
_VERIFICATION = re.compile(
    r"^\W*(my name is|my name's|this is|it'?s|i am|i'm|name'?s)\s+[a-z]+(\s+[a-z]+)?\W*$"
    r"|\b(date of birth|d\.?o\.?b|born on|birthday|postcode|post code|zip code|zip|"
    r"social security|last four|last 4|account number|card number|policy number|member id|"
    r"phone number|email address|spelled|spell)\b"
    r"|^[\W\d]+$"
    r"|\b(january|february|march|april|may|june|july|august|september|october|november|"
    r"december)\s+\d{1,2}(st|nd|rd|th)?,?\s+\d{2,4}\b"
    r"|\b\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}\b",
    re.I)
_WORD = re.compile(r"[a-z']+", re.I)
_SENTENCE = re.compile(r"(?<=[.!?;])\s+|\s*,?\s+\bbut\b\s+|\s*,\s*(?:and\s+)?(?=(?:i|my)\b)",
                       re.I)
_CHATTER = re.compile(
    r"^\W*(hi|hello|hey|good (morning|afternoon|evening)|thanks?( you)?|yes|yeah|okay|ok|so|um|"
    r"uh|well)\W*$"
    r"|\b(my name is|my name's|i'?ve been a (customer|member)|calling (from|about my account)|"
    r"how are you|hope you'?re)\b",
    re.I)


def is_problem(text: str) -> bool:
    """Does this customer utterance carry a problem (not a greeting, a yes, thanks, an ID check)?"""
    words = [w.lower() for w in _WORD.findall(text)]
    if not words:
        return False
    cue = bool(_PROBLEM_CUES.search(text)) or "?" in text
    if all(w in _FILLER for w in words):
        return False
    if _VERIFICATION.search(text) and (len(words) < 12 or not cue):
        return False
    if len(words) < 3:
        return False
    return cue or len(words) >= 6


def problem_statement(text: str, max_words: int = 30) -> str:
    """The part of a turn that states the problem: greetings, names and small talk dropped;
    of a long turn, the clauses with the most problem cues (in their order)."""
    clauses = [c.strip(" ,") for c in _SENTENCE.split(text.strip()) if c and c.strip(" ,")]
    kept = [c for c in clauses if not _CHATTER.search(c) and not _VERIFICATION.search(c)]
    kept = [c for c in kept if any(w.lower() not in _FILLER for w in _WORD.findall(c))]
    if not kept:
        return text.strip()
    if sum(len(_WORD.findall(c)) for c in kept) <= max_words:
        return " ".join(kept)
    scored = sorted(range(len(kept)), key=lambda i: (-len(_PROBLEM_CUES.findall(kept[i])), i))
    chosen: list[int] = []
    words = 0
    for i in scored:
        n = len(_WORD.findall(kept[i]))
        if chosen and words + n > max_words:
            continue
        chosen.append(i)
        words += n
    return " ".join(kept[i] for i in sorted(chosen))
