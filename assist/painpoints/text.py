"""Which customer utterances carry a problem, and the problem statement cut out of them."""

from __future__ import annotations

import re

from ..redact import MONTH_NAMES, NUMBER_WORDS

_MONTH = rf"(?:{'|'.join(MONTH_NAMES)})"
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
    rf"|\b{_MONTH}\s+\d{{1,2}}(st|nd|rd|th)?,?\s+\d{{2,4}}\b"
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


_FIGURE = r"\d[\d\s\-./]*"
# longest first, so "seventeen" is not read as "seven"
_NUMBER_WORD = "(?:{}|{})".format(
    "|".join(sorted(NUMBER_WORDS | {"hundred", "thousand"}, key=len, reverse=True)), _FIGURE)
# Three or more number words or figures in a row: an account, card or phone number read out.
_READ_OUT = re.compile(rf"\b{_NUMBER_WORD}(?:[\s,.\-]+(?:{_NUMBER_WORD}|[a-z]\b))*"
                       rf"[\s,.\-]+{_NUMBER_WORD}\b", re.I)
# an ordinal ("the twelfth of june") ends in st, nd, rd or th
_VALUE_WORD = rf"(?:{_NUMBER_WORD}|{_MONTH}|the|of|and|is|are|[a-z]|\w+(?:st|nd|rd|th))\b"
# a value holds a figure or two number words in a row: "my card is blocked" is no ID
# check, and neither is "my new card, the one I ordered"
_NUMBERS = rf"(?:{_FIGURE}|{_NUMBER_WORD}(?:[\s,\-]+{_NUMBER_WORD})+)"
_VALUE = (rf"(?:[\s,:]+{_VALUE_WORD})*?[\s,:]+{_NUMBERS}\b"
          rf"(?:[\s,:]+(?:{_NUMBER_WORD}|{_MONTH}|[a-z])\b)*")
# "my account number is ...", "the last four of my card are ...": the lead and its value.
_ID_LEAD = re.compile(
    r"\b(?:(?:my|the|our)\s+(?:\w+\s+)?(?:account|acc|card|member(?:ship)?|phone|mobile|policy|"
    r"reference|ref|customer|sort\s+code|routing|social\s+security|ssn|id|pin)\s*(?:number|no\.?|"
    r"#)?|(?:my|the)\s+(?:post\s*code|zip(?:\s*code)?|date\s+of\s+birth|dob|birthday)|"
    r"(?:the\s+)?last\s+(?:four|4)(?:\s+digits)?(?:\s+of\s+my\s+\w+)?|acc\.?\s*no\.?)"
    rf"(?:\s*(?:is|are|'s|:|it's|reads))?{_VALUE}", re.I)
_NAME_WORD = r"(?!(?:a|an|the|not|so|just|still|calling|trying|looking|having|wondering|going|" \
    r"unable|getting|interested|hoping|here|sorry|afraid|sure|very|really|at|in|on|from|with|" \
    r"about|to|for|and|but|i|my|your|also|currently|now|glad|happy|new|moving|travelling|" \
    r"worried|concerned|confused|told|ready|able|done|good|fine|well|back|out|over|up)\b)" \
    r"[a-z][a-z'\-]+"
# Who is calling: "my name is Rupert Hindstockings", "this is Betty", "James speaking".
_SELF = re.compile(
    rf"\b(?:my\s+(?:first\s+|last\s+|full\s+)?name(?:\s+is|'s)\s+{_NAME_WORD}(?:\s+{_NAME_WORD})?|"
    rf"(?:last|first)\s+name(?:\s+is|'s|:)?\s+{_NAME_WORD}|"
    rf"^(?:this\s+is|it's|it\s+is|i'm|i\s+am)\s+{_NAME_WORD}(?:\s+{_NAME_WORD})?"
    rf"(?=\s*(?:[.!?,;]|$|here\b|speaking\b|calling\b|and\b|i\b|i'm\b|i've\b|my\b|am\b|"
    rf"can\b|could\b|from\b|the\s+owner\b|owner\b|so\b))|"
    rf"{_NAME_WORD}(?:\s+{_NAME_WORD})?\s+(?:speaking|here)\b(?=\s*(?:[.!?,;]|$|\w))"
    rf"(?<!\bi'm\shere)(?<!\bam\shere))",
    re.I)
# Greetings, thanks, fillers and leads that carry no problem, wherever they are.
_SMALL_TALK = re.compile(
    r"\b(?:(?:hi|hello|hey)(?:\s+there)?|good\s+(?:morning|afternoon|evening|day)|how\s+are\s+you(?:\s+doing)?"
    r"(?:\s+today)?|hope\s+you(?:'re|\s+are)\s+(?:well|good|doing\s+well)|"
    r"thanks?(?:\s+you)?\s+for\s+(?:picking\s+up|taking\s+my\s+call|your\s+help|holding|"
    r"helping(?:\s+me)?)|thank\s+you(?:\s+so\s+much|\s+very\s+much)?|thanks(?:\s+a\s+lot|"
    r"\s+so\s+much)?|cheers|please|pls|if\s+you\s+can|if\s+possible|that's\s+(?:it|all)"
    r"(?:\s+really)?|bye|um+|uh+|uhm|erm?|hmm+|mm+|you\s+know|i\s+mean|basically|"
    r"the\s+thing\s+is|right\s+so|ok(?:ay)?\s+so|yeah|yes|yep|alright|"
    r"i\s+hope\s+you\s+can\s+help(?:\s+me)?|(?:i'm\s+)?sorry(?:\s+to\s+bother\s+you)?|"
    r"bear\s+with\s+me|the\s+reason\s+(?:i'm\s+calling|i\s+am\s+calling|i\s+called|for\s+my\s+"
    r"call|for\s+calling)(?:\s+(?:today|is|is\s+that|was))*|i'm\s+calling\s+(?:today\s+)?"
    r"(?:because|about|since|as)|i\s+was\s+wondering(?:\s+if)?|anyway|"
    r"i've\s+been\s+a\s+(?:customer|member|client)\s+(?:for|since)\s+(?:\w+\s+){0,3}?"
    r"(?:years?|months?)(?:\s+now)?)\b[,.]?",
    re.I)
# Where one request ends and another begins when nothing marks it but the words.
_ANOTHER = re.compile(
    r"[.!?;]+\s+|\s*,?\s+\b(?:but|and\s+also|also|oh\s+and|and\s+one\s+more\s+thing|"
    r"one\s+more\s+thing|and\s+another\s+thing|another\s+thing|and\s+while\s+i\s+have\s+you|"
    r"while\s+i\s+have\s+you|and\s+then|and\s+secondly|secondly|second(?:ly)?|plus)\b[,:]?\s*"
    r"|\s+so\s+(?=(?:why|how|what|when|where|can|could|is|do|i|my)\b)"
    r"|\s*,\s*(?:and\s+)?(?=(?:i|my)\b)", re.I)
_REQUEST = re.compile(
    r"\b(?:how|why|what|when|where|which|who|can\s+(?:i|you)|could\s+(?:i|you)|would\s+you|"
    r"is\s+(?:it|there)|are\s+there|do\s+(?:i|you)|does|am\s+i|will|need|want|wanna|"
    r"would\s+like|'d\s+like|looking\s+to|looking\s+for|trying\s+to|help\s+me|have\s+to|"
    r"can'?t|cannot|won'?t|didn'?t|doesn'?t|don'?t|isn'?t|wasn'?t|haven'?t|hasn'?t|not|never|"
    r"problem|issue|wrong|error)\b|\?", re.I)


_LEADING = re.compile(r"^(?:(?:and|so|also|but|or|then|well|now)\b[\s,]*)+", re.I)


def _clean(clause: str) -> str:
    """A clause without read-out numbers, ID checks, names, greetings and fillers."""
    for pattern in (_ID_LEAD, _READ_OUT, _SMALL_TALK):
        clause = pattern.sub(" ", clause)
    clause = _SELF.sub(" ", clause.strip(" ,.;:-"))
    clause = re.sub(r"\s+([,.?!])", r"\1", re.sub(r"\s+", " ", clause))
    return _LEADING.sub("", clause.strip(" ,.;:-")).strip(" ,.;:-")


def _content(clause: str) -> int:
    return sum(1 for w in _WORD.findall(clause) if w.lower() not in _FILLER)


def problem_statements(text: str) -> list[str]:
    """The requests a turn makes, each cut free of greetings, names, numbers read out,
    fillers and small talk, in the order said.  A clause counts as a request when it asks
    or wants something or says something is wrong; a turn with none keeps whatever is
    left of it (one statement)."""
    clauses = [c for c in (_clean(c) for c in _ANOTHER.split(text.strip()) if c) if c]
    clauses = [c for c in clauses if _content(c) >= 1 and not _CHATTER.search(c)
               and not _VERIFICATION.search(c)]
    asked = [c for c in clauses if _REQUEST.search(c) and _content(c) >= 2]
    if asked:
        # a clause that only explains the one before ("it looks like I paid twice") stays
        # with it: one request, two clauses
        out: list[str] = []
        for c in clauses:
            if c in asked or not out:
                out.append(c)
            else:
                out[-1] = f"{out[-1]} {c}"
        return [c for c in out if _REQUEST.search(c) and _content(c) >= 2] or out
    rest = " ".join(clauses).strip()
    return [rest] if rest else []


# A turn this short is the question itself, give or take a greeting: its clauses are
# kept whole.  Measured (bench/painpoints.py --realistic): the request extraction on
# every turn gains 13-15 ACC on long turns but costs 2 on banking77 test and 12 on the
# DSTC11 insurance questions; from 16 words on it keeps most of the gain for a loss of 2-3.
SHORT_TURN = 15


def problem_statement(text: str, max_words: int = 30) -> str:
    """The main problem of a turn.  A long turn (over ``SHORT_TURN`` words): the first
    request it makes (see ``problem_statements``), cut to ``max_words``.  A short one:
    its clauses without greetings, names and ID checks.  A turn with nothing left is
    returned as it came."""
    if len(text.split()) <= SHORT_TURN:
        return _short_statement(text, max_words)
    statements = problem_statements(text)
    if not statements:
        return text.strip()
    return " ".join(statements[0].split()[:max_words])


def _short_statement(text: str, max_words: int) -> str:
    """The clauses of a short turn that are not chatter or an ID check; if too long, the
    ones with the most problem cues (in their order)."""
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
