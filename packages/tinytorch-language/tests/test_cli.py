"""`tito language`: the command group reaches the library through the registered entry point."""

import argparse
import json

import tinytorch.core as tt
from tinytorch.language import CharTokenizer, TinyGPT, save_pretrained
from tinytorch.language.cli import register


def run(argv, capsys):
    parser = argparse.ArgumentParser(prog="tito")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    code = args.func(args)
    return code, capsys.readouterr()


def saved_model(tmp_path):
    tokenizer = CharTokenizer().fit("abcdefgh \n")
    tt.manual_seed(0)
    model = TinyGPT(tokenizer.get_vocab_size(), 16, 2, 1, 16)
    return save_pretrained(tmp_path / "m", model, tokenizer)


def test_generate_json(tmp_path, capsys):
    directory = saved_model(tmp_path)
    code, out = run(["language", "generate", "--model", directory, "--prompt", "abc",
                     "--max-new-tokens", "20", "--seed", "0", "--json"], capsys)
    assert code == 0
    result = json.loads(out.out)
    assert result["text"].startswith("abc") and len(result["text"]) == 23
    code, again = run(["language", "generate", "--model", directory, "--prompt", "abc",
                       "--max-new-tokens", "20", "--seed", "0", "--json", "--no-cache"], capsys)
    assert json.loads(again.out)["text"] == result["text"]


def test_tokenize_and_errors(tmp_path, capsys):
    directory = saved_model(tmp_path)
    code, out = run(["language", "tokenize", "bad", "--model", directory, "--json"], capsys)
    assert code == 0 and json.loads(out.out)["pieces"] == ["b", "a", "d"]
    code, out = run(["language", "tokenize", "xyz", "--model", directory], capsys)
    assert code == 1 and "not in the vocabulary" in out.err
    code, out = run(["language", "generate", "--model", str(tmp_path / "none")], capsys)
    assert code == 1 and "model.safetensors' is missing" in out.err
