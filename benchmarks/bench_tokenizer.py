"""Tokenizer throughput: bertguide's pure-Python WordPiece against transformers' Rust one.

Run: python benchmarks/bench_tokenizer.py [--repeat 3]

Both tokenizers encode every line of the offline Wikipedia sample, one line per call,
on one thread, with the same vocab.txt and ``truncation=True, max_length=512`` (a few
lines are longer than the model). Prints lines/s and MB/s of each, and the ratio
ours/theirs (higher is better), all measured in this one run:

* cold: a fresh bertguide tokenizer whose word cache is empty, one pass;
* warm: the best of ``--repeat`` passes once the cache holds the corpus's words.

transformers' tokenizer is timed warm (best of ``--repeat``); it has no word cache.
"""

import os

os.environ["RAYON_NUM_THREADS"] = "1"  # before tokenizers is imported
os.environ["TOKENIZERS_PARALLELISM"] = "false"

import argparse
import time

import torch


def time_pass(encode, lines: list[str]) -> float:
    start = time.perf_counter()
    for line in lines:
        encode(line)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="timed passes (best is kept)")
    args = parser.parse_args()
    torch.set_num_threads(1)

    import transformers

    from bertguide import WordPieceTokenizer, corpus
    from bertguide.pretrained import resolve
    from bertguide.tokenizer import load_vocab

    transformers.utils.logging.set_verbosity_error()
    lines = corpus.wikipedia_lines()
    megabytes = sum(len(line.encode("utf-8")) for line in lines) / 1e6
    vocab_path = resolve(None) / "vocab.txt"
    if int(transformers.__version__.split(".")[0]) >= 5:
        theirs = transformers.BertTokenizer(vocab=load_vocab(vocab_path), model_max_length=512)
    else:
        theirs = transformers.BertTokenizerFast(vocab_file=str(vocab_path), model_max_length=512)

    def encode_theirs(line):
        return theirs.encode(line, truncation=True, max_length=512)

    ours = WordPieceTokenizer(vocab_path)

    def encode_ours(line):
        return ours.encode(line, truncation=True, max_length=512)

    # same ids before timing anything (up to the documented final-sigma difference)
    differ = sum(encode_ours(line) != encode_theirs(line) for line in lines)
    ours = WordPieceTokenizer(vocab_path)  # a fresh, empty cache for the cold pass

    cold = time_pass(encode_ours, lines)
    warm = min(time_pass(encode_ours, lines) for _ in range(args.repeat))
    reference = min(time_pass(encode_theirs, lines) for _ in range(args.repeat))

    n = len(lines)
    print(f"corpus: {n} Wikipedia lines, {megabytes:.2f} MB, one line per encode call")
    print(f"lines whose ids differ: {differ}")
    print(
        f"transformers {transformers.__version__} (Rust): {n / reference:9.0f} lines/s "
        f"{megabytes / reference:6.2f} MB/s"
    )
    print(
        f"bertguide, warm cache:     {n / warm:9.0f} lines/s {megabytes / warm:6.2f} MB/s "
        f"ratio {reference / warm:.2f}x"
    )
    print(
        f"bertguide, cold cache:     {n / cold:9.0f} lines/s {megabytes / cold:6.2f} MB/s "
        f"ratio {reference / cold:.2f}x"
    )


if __name__ == "__main__":
    main()
