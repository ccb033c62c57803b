"""Language codes: users say ``en``/``eng``/``english``, ``zh``/``chi_sim``/``ch``; engines get their own codes.

The canonical code is ISO 639-1 where one exists (``zh-Hant`` for traditional Chinese).
"""

from __future__ import annotations

from collections.abc import Iterable

from ocrserver.errors import UnsupportedLanguage

# canonical code -> Tesseract traineddata name
TESSERACT_CODES: dict[str, str] = {
    "af": "afr", "ar": "ara", "az": "aze", "be": "bel", "bg": "bul", "bn": "ben", "bs": "bos", "ca": "cat",
    "cs": "ces", "cy": "cym", "da": "dan", "de": "deu", "el": "ell", "en": "eng", "eo": "epo", "es": "spa",
    "et": "est", "eu": "eus", "fa": "fas", "fi": "fin", "fr": "fra", "ga": "gle", "gl": "glg", "gu": "guj",
    "he": "heb", "hi": "hin", "hr": "hrv", "hu": "hun", "hy": "hye", "id": "ind", "is": "isl", "it": "ita",
    "ja": "jpn", "ka": "kat", "kk": "kaz", "km": "khm", "kn": "kan", "ko": "kor", "la": "lat", "lo": "lao",
    "lt": "lit", "lv": "lav", "mk": "mkd", "ml": "mal", "mr": "mar", "ms": "msa", "mt": "mlt", "my": "mya",
    "ne": "nep", "nl": "nld", "no": "nor", "pa": "pan", "pl": "pol", "pt": "por", "ro": "ron", "ru": "rus",
    "sk": "slk", "sl": "slv", "sq": "sqi", "sr": "srp", "sv": "swe", "sw": "swa", "ta": "tam", "te": "tel",
    "th": "tha", "tl": "tgl", "tr": "tur", "uk": "ukr", "ur": "urd", "uz": "uzb", "vi": "vie",
    "zh": "chi_sim", "zh-Hant": "chi_tra",
}

# other spellings people use -> canonical
ALIASES: dict[str, str] = {
    "ch": "zh", "chs": "zh", "cn": "zh", "zh-cn": "zh", "zh-hans": "zh", "chinese": "zh", "chi_sim": "zh",
    "cht": "zh-Hant", "zh-tw": "zh-Hant", "zh-hk": "zh-Hant", "zh-hant": "zh-Hant", "chinese_cht": "zh-Hant",
    "chi_tra": "zh-Hant", "japan": "ja", "japanese": "ja", "english": "en", "german": "de", "french": "fr",
    "korean": "ko", "russian": "ru", "arabic": "ar", "greek": "el", "hindi": "hi",
    "rs_latin": "sr", "ku": "ku", "oc": "oc", "qu": "qu", "rm": "rm", "mi": "mi", "lb": "lb",
}
_FROM_TESSERACT = {code: canonical for canonical, code in TESSERACT_CODES.items()}
# Chinese, Japanese and Korean: written in characters without spaces between words (canonical codes)
CJK_LANGUAGES = frozenset({"zh", "zh-Hant", "ja", "ko"})


def normalize_language(code: str) -> str:
    """One language code in any common spelling -> the canonical code.

    Unknown but well-formed codes are passed through lower-cased, so an engine can still accept
    them; engines decide what they support.
    """
    raw = code.strip()
    if not raw:
        raise UnsupportedLanguage("Empty language code; use e.g. 'en', 'zh', 'de'.")
    key = raw.lower().replace(" ", "")
    if key in ALIASES:
        return ALIASES[key]
    if key in _FROM_TESSERACT:
        return _FROM_TESSERACT[key]
    if key in TESSERACT_CODES:
        return key
    return key


def parse_languages(value: str | Iterable[str] | None, default: list[str]) -> list[str]:
    """``"en+zh"``, ``"en,zh"``, ``["en", "zh"]`` or None -> canonical codes without duplicates."""
    if value is None or value == "" or value == []:
        items: list[str] = list(default)
    elif isinstance(value, str):
        items = value.replace("+", ",").split(",")
    else:
        items = [part for item in value for part in str(item).replace("+", ",").split(",")]
    result: list[str] = []
    for item in items:
        if item.strip():
            canonical = normalize_language(item)
            if canonical not in result:
                result.append(canonical)
    if not result:
        raise UnsupportedLanguage("No language given; use e.g. 'en', 'zh', 'de'.")
    return result


def tesseract_code(canonical: str) -> str:
    return TESSERACT_CODES.get(canonical, canonical)
