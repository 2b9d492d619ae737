#!/usr/bin/env python3
"""Writes Tests/GPT2Tests/Resources/tokenizer-fixture.json: (text, ids) pairs from tiktoken's GPT-2 encoding.

tiktoken cannot download its files here, so the encoding is built from the same GPT-2 files that
Scripts/fetch-assets installs (tiktoken's own `gpt2` definition, whose ranks equal `r50k_base`'s), with tiktoken
checking their sha256. The ids come from `encode_ordinary`: `<|endoftext|>` in text is plain text.

Usage: Scripts/fetch-assets && python Scripts/make-tokenizer-fixture.py   (needs `pip install tiktoken`)
"""
import json
import pathlib
import random
import sys
import unicodedata

import tiktoken
from tiktoken.load import data_gym_to_mergeable_bpe_ranks
from tiktoken_ext.openai_public import r50k_pat_str

ROOT = pathlib.Path(__file__).resolve().parent.parent
ASSETS = ROOT / "Models" / "gpt2-tokenizer"
OUT = ROOT / "Tests" / "GPT2Tests" / "Resources" / "tokenizer-fixture.json"


def encoding():
    ranks = data_gym_to_mergeable_bpe_ranks(
        vocab_bpe_file=str(ASSETS / "merges.txt"),
        encoder_json_file=str(ASSETS / "vocab.json"),
        vocab_bpe_hash="1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5",
        encoder_json_hash="196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783",
    )
    enc = tiktoken.Encoding("r50k_base", pat_str=r50k_pat_str, mergeable_ranks=ranks,
                            special_tokens={"<|endoftext|>": 50256}, explicit_n_vocab=50257)
    assert enc.encode_ordinary("Hello world") == [15496, 995]
    assert enc.encode_ordinary("The quick brown fox jumps over the lazy dog.") == [
        464, 2068, 7586, 21831, 18045, 625, 262, 16931, 3290, 13]
    return enc


def hand_written():
    """Cases chosen for the places where byte-level BPE implementations usually disagree."""
    cases = [
        "", "a", " ", "  ", "\n", "\t", "Hello world", "The quick brown fox jumps over the lazy dog.",
        # contractions, and the upper-case forms that GPT-2's regex does not split
        "it's", "they're", "we'll", "I've", "I'm", "he'd", "don't", "IT'S", "THEY'RE", "WE'LL", "I'VE", "I'M",
        "HE'D", "DON'T", "It'S", "you'Re", "rock'n'roll", "'s", "'", "''", "'''s", "'ll've", " 's", "x 're", "''re",
        "O'Neill's", "the dogs' bones", "’s curly apostrophe’s", "can't won't shan't", "'S'T'RE'VE'M'LL'D",
        # whitespace runs
        "a  b", "a   b", "a    b", "a\tb", "a\t\tb", "a\nb", "a\n\nb", "a\n\n\nb", "a \n b", "a\n \nb", " a",
        "  a", "   a", "a ", "a  ", "a   ", "\n\na", "a\n\n", " \t \n ", "\r\n", "line1\r\nline2\r\n",
        "\u00a0nbsp", "em\u2003space", "ideographic\u3000space", "\u2028line sep", "\x0bvt\x0cff",
        "trailing spaces   \n   leading", "tabs\t\t\tthen text", "\n\n\n\n", "    indented code",
        # digits and numbers
        "0", "12", "123", "1234", "12345", "3.14159", "1,000,000", "2023-11-25", "v1.2.3", "$100", "100%",
        "12345678901234567890", "0x1F2E3D", "1e-5", "-42", "+7", "٣٤٥ Arabic-Indic digits", "Ⅻ roman numeral",
        "½ vulgar fraction", "²³ superscripts", " 42", "  42", "abc123def", "A1B2C3",
        # punctuation runs
        "!!!", "?!?!", "...", "…", "---", "—", "((()))", "[{<>}]", "#$%&*", "@user", "#hashtag", "a.b.c",
        "e.g.", "i.e.,", "https://example.com/path?q=1&r=2#frag", "foo@bar.com", "C:\\Windows\\System32",
        "<html><body>hi</body></html>", "```python\nprint('x')\n```", "/* comment */", "a -> b => c",
        "\"quoted\"", "“smart quotes”", "«guillemets»", "¿Qué?", "¡Hola!",
        # accented Latin and other scripts
        "café", "naïve", "résumé", "Ångström", "Straße", "Ærøskøbing", "Łódź", "İstanbul", "ǅ titlecase",
        "Ελληνικά", "Русский язык", "עברית", "العربية", "हिन्दी", "தமிழ்", "ไทย", "한국어", "日本語のテキスト",
        "中文字符测试", "漢字かなカナ", "Việt Nam", "ქართული",
        # combining marks (NFD vs NFC)
        unicodedata.normalize("NFD", "café"), unicodedata.normalize("NFD", "Ångström"), "e\u0301\u0301",
        "a\u0308\u0304", "\u0301leading combining", "Z\u0351\u0358a\u0352l\u0359g\u035co", "ก\u0e31\u0e49",
        # emoji, ZWJ sequences, flags, skin tones, variation selectors
        "😀", "😀😀", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇬🇧🇫🇷", "❤️", "☺︎", "a😀b", " 😀", "1️⃣", "🧑🏿‍🚀",
        # the end-of-text marker written as plain text
        "<|endoftext|>", "a<|endoftext|>b", " <|endoftext|> ", "<|endoftext|><|endoftext|>", "<|endoftext",
        "<|im_start|>user", "<|fim_prefix|>",
        # controls and oddities
        "\x00", "a\x00b", "\x1b[31mred\x1b[0m", "\ufeffBOM", "\u200bzero width", "soft\u00adhyphen",
        "\U0001F600\U0001F601\U0001F602", "\U00010348 gothic", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "ＦＵＬＬＷＩＤＴＨ", "\ufffd",
    ]
    return cases


def random_cases(rng, count):
    """Seeded strings mixing the interesting character classes."""
    pieces = [" ", "  ", "\n", "\t", "'s", "'S", "'ll", "'", "the", "The", " and", "café", "naïve", "123",
              "4567", ".", ",", "!?", "...", "😀", "👨‍👩‍👧", "中文", "日本", "Ελ", "й", "\u0301", "<|endoftext|>",
              "http://", "$", "%", "(", ")", "-", "—", "\u00a0", "\r\n", "0", "x", "Q", "ñ", "ß", "ﬁ"]
    return ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 40))) for _ in range(count)]


def documents(rng):
    """Long documents (20 KB and more): real prose and code from CPython's own sources and docs, and noise."""
    import pydoc_data.topics as topics
    import inspect, json as json_module, textwrap
    prose = "\n\n".join(topics.topics[k] for k in sorted(topics.topics))
    docs = [prose[:24_000], prose[100_000:150_000], inspect.getsource(json_module.decoder)[:21_000],
            inspect.getsource(textwrap)[:30_000]]
    words = ["neuron", "activation", "the", "of", "Ünïcödé", "42", "1,234.5", "—", "\n\n", "  ", "'s", "😀", "日本語"]
    docs.append(" ".join(rng.choice(words) for _ in range(6_000)))
    docs.append("9" * 25_000)            # one 25 KB pre-token: BPE must not be quadratic
    docs.append("ab" * 12_000)           # one long letter run
    docs.append(" " * 21_000 + "x")      # a long whitespace run
    return docs


def main():
    enc = encoding()
    rng = random.Random(20261125)
    texts = hand_written() + random_cases(rng, 200) + documents(rng)
    cases = [{"text": t, "ids": enc.encode_ordinary(t)} for t in texts]
    for case in cases:  # the fixture must round-trip in the reference itself
        assert enc.decode_bytes(case["ids"]) == case["text"].encode("utf-8")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    header = {"generator": "Scripts/make-tokenizer-fixture.py",
              "reference": f"tiktoken {tiktoken.__version__}, r50k_base (GPT-2) encode_ordinary"}
    lines = ",\n".join(json.dumps(c, ensure_ascii=True, separators=(",", ":")) for c in cases)
    OUT.write_text(json.dumps(header)[:-1] + ',\n"cases": [\n' + lines + "\n]}\n")
    print(f"wrote {len(cases)} cases to {OUT.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
