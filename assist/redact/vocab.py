"""The words numbers are said in, and the words around them that say what a number is.

English as recognisers write it (digits, digit words, "double four", "oh" for
zero, sound-alikes such as "for" or "won" between other digits) and Chinese
(中文数字, 幺 for one, 两 for two; full-width digits are folded before this).
"""

from __future__ import annotations

import re

UNITS = {"zero": "0", "oh": "0", "o": "0", "nought": "0", "nil": "0", "one": "1",
         "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7",
         "eight": "8", "nine": "9", "niner": "9"}
# Words a recogniser writes for a digit it half heard; digits only between other digits,
# so "I've had it for 3 weeks" keeps its "for".
SOUND_ALIKES = {"for": "4", "fore": "4", "won": "1", "ate": "8", "to": "2", "too": "2",
                "tree": "3", "sex": "6", "fife": "5", "nein": "9"}
# "oh" and "o" are zero only next to another digit ("oh four", "four oh"), not "oh, right".
SOUND_ALIKES_TOO = {"oh", "o"}
TEENS = {"ten": "10", "eleven": "11", "twelve": "12", "thirteen": "13", "fourteen": "14",
         "fifteen": "15", "sixteen": "16", "seventeen": "17", "eighteen": "18", "nineteen": "19"}
TENS = {"twenty": "2", "thirty": "3", "forty": "4", "fifty": "5", "sixty": "6",
        "seventy": "7", "eighty": "8", "ninety": "9"}
REPEAT = {"double": 2, "triple": 3}
# every word a digit or a group of digits is said with (not the sound-alikes)
NUMBER_WORDS = frozenset(UNITS) | frozenset(TEENS) | frozenset(TENS) | frozenset(REPEAT)
HAN_DIGITS = {"零": "0", "〇": "0", "○": "0", "一": "1", "幺": "1", "二": "2", "两": "2",
              "三": "3", "四": "4", "五": "5", "六": "6", "七": "7", "八": "8", "九": "9"}
HAN_TEN = "十"

# Between the digits of one number: punctuation and hesitation.
SEPARATORS = {",", ".", "-", "–", "—", "/", "(", ")", "、", "，", "。", "：", ":", "uh", "um", "umm",
              "er", "erm", "hmm", "ah", "eh", "slash", "呃", "嗯", "啊"}
# Between the groups of one number read in breaths ("4539 and 5260, then 1815"), and the
# acknowledgements an agent says between them ("mhm", "go on").
SOFT = SEPARATORS | {
    "and", "then", "sorry", "let", "me", "see", "hang", "on", "okay", "ok", "yeah", "yes", "yep",
    "right", "next", "is", "it's", "its", "the", "bit", "that's", "so", "mhm", "mm", "uh-huh",
    "go", "got", "it", "that", "great", "thanks", "thank", "you", "sure", "one", "sec", "second",
    "just", "a", "moment", "wait", "|", "然后", "还有", "是", "对", "好", "好的", "嗯嗯", "稍等",
    "等", "一下", "和", "接着", "后面",
    # Chinese is cut into characters: the characters of those words
    "然", "后", "还", "有", "的", "稍", "下", "接", "着", "那", "个", "您", "记", "哦", "吧",
    "份", "年", "月",  # 月份是零九，年份是二八: an expiry's month, then its year
}
CURRENCY = {"£", "$", "€", "¥", "￥", "元", "块", "rmb"}
AMOUNT_AFTER = {"pounds", "pound", "quid", "p", "pence", "dollars", "dollar", "euros", "euro",
                "cents", "percent", "%", "hundred", "thousand", "million", "grand", "k",
                "am", "pm", "o'clock", "a.m", "p.m", "minutes", "minute", "hours", "hour", "days",
                "day", "weeks", "week", "months", "month", "years", "year", "kg", "miles", "gb",
                "mb", "times", "items", "元", "块", "天", "个", "次", "点", "分", "月",
                "年", "号", "日", "周", "小时", "分钟", "岁", "位"}
TLDS = {"com", "net", "org", "co", "uk", "io", "gov", "edu", "info", "biz", "me", "ac", "de",
        "fr", "ie", "us", "eu", "au", "ca", "nz", "in", "es", "it", "nl", "app", "dev", "tv", "cn",
        "se", "no", "dk", "fi", "pl", "pt", "ch", "at", "be", "jp", "kr", "ru", "br", "mx", "za",
        "sg", "hk", "tw", "cz", "gr", "hu", "ro", "tr", "il", "ae", "sa", "my", "ph", "th", "vn"}
EMAIL_CONNECTORS = {".": ".", "dot": ".", "_": "_", "underscore": "_", "-": "-",
                    "dash": "-", "hyphen": "-", "+": "+", "plus": "+"}

def _cue(pattern: str) -> re.Pattern[str]:
    """A cue pattern whose \\b is an ASCII word boundary (Python's \\b sees Chinese characters
    as letters, and "的sort code" would have no boundary before "sort")."""
    return re.compile(pattern.replace(r"\b", r"(?:(?<![a-z0-9])(?=[a-z0-9])|(?<=[a-z0-9])(?![a-z0-9]))"))


# Cue words; the nearest cue before a number decides what it is.  "ref" and "amount"
# say a number is not sensitive (an order number, a price).
CUES: list[tuple[str, re.Pattern[str]]] = [
    ("last4", _cue(r"\bending\b|last (four|4)( digits)?|\bends (in|with)\b|尾号|末四位|后四位")),
    ("issued", _cue(r"start date|valid from|issue date|\bissued\b|member since")),
    ("expiry", _cue(r"\bexpir(y|es|ed|e|ation|ing)\b|\bexp\b|valid (until|till|thru|through|to)"
                          r"|end date|runs? out|good (thru|through|until)|有效期|到期|过期")),
    ("cvv", _cue(r"security (code|number|digits)|\bcv[cvn]2?(?![a-z])|\bcsc\b|\bcid\b"
                       r"|\b(three|four|3|4) (little |small )?(numbers|digits)\b"
                       r"|\b(three|four|3|4)[- ]digit (security )?(code|number)"
                       r"|(digits|numbers|number|code)( that's| which is)? on the (back|reverse)"
                       r"|(back|reverse) of (the|your|my) card|\bthe (back|reverse)\b"
                       r"|verification (code|number|value)|\bpin\b|\bpasscode\b"
                       r"|(?<!post )(?<!promo )(?<!discount )(?<!voucher )(?<!zip )\bcode\b"
                       r"|安全码|验证码|校验码|背面|后三位|三位数|三个数字|密码|cvv")),
    ("sortcode", _cue(r"\bsort[- ]?code|分行号|行号")),
    ("account", _cue(r"\baccount\b|\bacct\b|\biban\b|roll number|building society"
                           r"|账号|账户|帐号|帐户")),
    ("card", _cue(r"\bcard\b|\blong number\b|\bvisa\b|\bmastercard\b|\bamex\b|"
                        r"number on the front|卡号|银行卡|信用卡|借记卡|卡")),
    ("phone", _cue(r"\bphone\b|\bmobile\b|\blandline\b|\btelephone\b|\bcall\b|\bring\b|"
                         r"\bcontact number\b|\breach (me|you|us)\b|\btext me\b|\bcell\b|\btel\b"
                         r"|手机|电话|联系方式")),
    ("ref", _cue(r"\border\b|\breference\b|\bref\b|\btracking\b|\binvoice\b|\bticket\b|"
                       r"\bcase\b|\bbooking\b|\bconfirmation\b|\bpolicy\b|\bparcel\b|\bclaim\b|"
                       r"\bcomplaint\b|\bextension\b|\broom\b|\bflight\b|\bmembership\b|"
                       r"\bpost ?code\b|\bzip\b|\bpromo\b|\bvoucher\b|\bdiscount\b|\bcoupon\b|"
                       r"订单|单号|快递|工单|编号")),
    ("amount", _cue(r"\bprices?\b|\bcosts?\b|\bcharged?\b|\bpaid\b|\btotal\b|\bfees?\b|"
                          r"\bbill\b|\bbalance\b|\bamount\b|£|\$|€|价格|金额|扣了|花了")),
]
EMAIL_CUE = _cue(r"\be-?mail\b|\baddress\b|邮箱|电子邮件")

_WORD = r"[^\W\d_]"
_HAN_CHARS = r"\u3007\u25cb\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_LATIN = r"a-zA-Z0-9\u00c0-\u024f"
# a Chinese sentence runs straight into an address ("我的邮箱是zhangwei88@qq.com就行"): the
# address is Latin letters (accents too), or, when Chinese, what comes after 是 or a colon
WRITTEN_EMAIL = re.compile(
    rf"(?:[{_LATIN}._%+-]+|(?<=[是：:为])[{_HAN_CHARS}]+)@[{_LATIN}{_HAN_CHARS}-]+"
    rf"(?:\.[{_LATIN}{_HAN_CHARS}-]+)*\.(?:[a-zA-Z]{{2,}}|[{_HAN_CHARS}]{{2,}})")
# an address said in Chinese: "wang fang 艾特 一六三 点 com"
HAN_SPOKEN_EMAIL = re.compile(
    r"(?:[a-z0-9_.]+ ?){1,6}(?:艾特|(?<![a-z])at(?![a-z])|@) ?[a-z0-9零〇一二三四五六七八九幺]{1,20} ?"
    r"(?:点|dot) ?(?:com|cn|net|org)(?: ?点 ?cn)?")
MONTH_NAMES = ("january", "february", "march", "april", "may", "june", "july", "august",
               "september", "october", "november", "december")
MONTHS = {m: i + 1 for i, m in enumerate(MONTH_NAMES)} | {m: i + 1 for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"])}
# a card's expiry said the Chinese way: 二七年四月, 2028年11月
HAN_EXPIRY = re.compile(r"(?:20)?[0-9零〇一二三四五六七八九]{2}年[0-9零〇一二三四五六七八九十]{1,2}月(?:份)?")
IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){3,7}(?:[ ]?[A-Z0-9]{1,3})?\b")
_HAN = _HAN_CHARS
# Decimals, dates and times are one token each, so a list of prices or two dates never
# become one long number.
TOKEN = re.compile(
    r"(?P<decimal>\d{1,3}(?:,\d{3})*\.\d{1,2}(?![\d/]))"
    r"|(?P<date>\d{1,2}/\d{1,2}/\d{2,4}|\d{4}-\d{1,2}-\d{1,2}|\d{1,2}\.\d{1,2}\.\d{2,4})"
    r"|(?P<mmyy>(?:0?[1-9]|1[0-2]) ?/ ?(?:\d{2}|20\d{2})(?![\d/]))"
    r"|(?P<time>\d{1,2}:\d{2}(?::\d{2})?)"
    rf"|(?P<han>[{_HAN}])"
    r"|\d+(?:st|nd|rd|th)\b"
    rf"|[^\W\d_{_HAN}]+(?:['’][^\W\d_{_HAN}]+)*"
    r"|\d+"
    r"|\S"
)
US_PHONE_SHAPE = re.compile(r"^\(?\d{3}\)?[\s.-]*\d{3}[\s.-]\d{4}$")
SORT_CODE_SHAPE = re.compile(r"^\d\d[- ]\d\d[- ]\d\d$")
