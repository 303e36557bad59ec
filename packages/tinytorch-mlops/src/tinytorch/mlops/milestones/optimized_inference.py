"""Optimized inference: an int8 CIFAR-10 CNN 3.5x smaller, ONNX export, KV-cached generation.

    tito milestones run optimized_inference [--quick] [--model-dir DIR] [--gpt-dir DIR]

(`python -m tinytorch.mlops.milestones.optimized_inference ...` and, in a checkout,
`python milestones/05_optimized_inference.py ...` run the same module. It needs
`pip install "tinytorch-mlops[milestone]"`: tinytorch-vision, tinytorch-language, onnx.)

Takes the CNN trained by milestone 03 (its saved model.safetensors: --model-dir, else
where milestone 03 saves it, <user cache>/models/cifar10-cnn) to deployment, and measures
every step:

1. int8 post-training quantization (BatchNorm folded into the convolutions, per-channel
   int8 weights, activation ranges calibrated on 512 training images), saved as a
   safetensors file. Claims: the int8 file is at least 3.5x smaller than the float32 file
   (both sizes measured on disk), and test accuracy drops by at most 1 point.
2. Registry: both models registered (manifest with metrics and sha256), the int8 one
   promoted to `production`, and loaded back through the integrity check.
3. ONNX: float and int8 models exported; onnxruntime's logits agree with TinyTorch's on
   the test images (float32 tolerance, identical predictions).
4. Serving: the int8 model behind the HTTP server on 127.0.0.1, a bounded load test
   (8 clients, fixed request count): throughput, p50/p99, zero failed requests.
5. TinyGPT generation with and without the KV cache: greedy tokens identical, and the
   cache at least 3x faster for 248 new tokens (milestone 04's architecture at context
   256, freshly initialised: speed does not depend on the weights). Milestone 04's own
   model, when found, is timed in its 64-token window too (reported).
6. Reported without a target: structured channel pruning (file size, accuracy before and
   after a short fine-tune) and a student CNN 55x smaller (11k parameters) trained by distillation.
7. A picture report, report.png/.svg in the output folder: size, batch latency and accuracy
   of float32, int8, pruned and distilled as bars; generation time with and without the
   KV cache for 16, 64, 128 and 248 new tokens.

Data: CIFAR-10 from the data root ($TINYTORCH_DATA, else the user cache); a full run that
does not find it downloads the official archive (163 MB, md5-checked) unless
--no-download.

--quick (CI, ~1-2 minutes): instead of loading milestone 03's model, trains a small CNN
for 60 steps on CIFAR-10, evaluates on 2,000 test images, and runs a smaller load test.
Without CIFAR-10 it never downloads: it uses the labelled synthetic stand-in
(tinytorch.vision.datasets.cifar10_stand_in) and marks every figure as measured on it.
Exit code 0 only when every claim holds.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from rich.console import Console

import tinytorch.core as tt
import tinytorch.core.nn.functional as F
from tinytorch.core import no_grad, optim
from tinytorch.core.milestones.support import (
    DATA_ERRORS,
    add_data_arguments,
    claims_table,
    may_download,
    no_data,
    write_report,
)
from tinytorch.core.plot import matplotlib_figure_class
from tinytorch.mlops import ModelRegistry, save_model
from tinytorch.mlops.compression import distill, prune_channels, quantize_model
from tinytorch.mlops.milestones.optimized_inference_report import (
    draw_inference_report,
    latency_ms,
)
from tinytorch.mlops.serving import ModelService, background_server, load_test

try:  # the `milestone` extra: this milestone takes 03's CNN and 04's TinyGPT to deployment
    import tinytorch.language  # noqa: F401  (TinyGPT, generation: imported where used)
    from tinytorch.mlops.export import check_onnx, export_onnx, run_onnx
    from tinytorch.vision import models
    from tinytorch.vision.datasets import CIFAR10, cifar10_stand_in
    MISSING_EXTRA = None
except ImportError as missing:  # reported by main(), not as a traceback at import
    MISSING_EXTRA = missing
CIFAR_MEAN = np.array([0.4914, 0.4822, 0.4465], dtype=np.float32)
CIFAR_STD = np.array([0.2470, 0.2435, 0.2616], dtype=np.float32)
QUICK_CNN = {"stages": [[16, 1], [32, 1], [64, 1]], "hidden": 0}
STUDENT_CNN = {"stages": [[8, 1], [16, 1], [32, 1]], "hidden": 0}
TARGET_RATIO = 3.5
TARGET_DROP_POINTS = 1.0
TARGET_KV_SPEEDUP = 3.0
KV_SWEEP_TOKENS = (16, 64, 128)  # plus the claim's 248: generation time vs length (report)
PLAN = {
    "quick": {"test_images": 2000, "train_steps": 60, "load_clients": 8, "load_requests": 80,
              "gpt_repeats": 3, "prune_amount": 0.25,
              "finetune_steps": 10, "distill_steps": 30},
    "full": {"test_images": None, "train_steps": 1500, "load_clients": 8, "load_requests": 400,
             "gpt_repeats": 3, "prune_amount": 0.5,
             "finetune_steps": 200, "distill_steps": 400},
}


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small CNN trained here: CI smoke run")
    parser.add_argument("--model-dir", help="milestone 03's saved CNN (model.safetensors)")
    parser.add_argument("--gpt-dir", help="milestone 04's saved TinyGPT")
    add_data_arguments(parser)
    parser.add_argument("--output", help="registry and exported files (default: a temp dir)")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


# ---------------------------------------------------------------- data and the CNN
def to_input(images: np.ndarray, mean=CIFAR_MEAN, std=CIFAR_STD) -> np.ndarray:
    """uint8 (N, 32, 32, 3) -> normalised float32 (N, 3, 32, 32)."""
    x = images.astype(np.float32) / 255.0
    return ((x - mean) / std).transpose(0, 3, 1, 2).copy()


def accuracy(predict, x: np.ndarray, y: np.ndarray, batch: int = 500) -> float:
    hits = sum(int((predict(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum())
               for i in range(0, len(x), batch))
    return hits / len(x)


def tinytorch_predict(model):
    def predict(x):
        with no_grad():
            return model(tt.tensor(x)).numpy()
    return predict


def milestone_03_candidates(args) -> list[Path]:
    """Where milestone 03 saves its full-run model (its --output default)."""
    if args.model_dir:
        return [Path(args.model_dir).expanduser()]
    return [models.default_model_dir("full")]


def load_or_train(args, plan, train, console):
    """(model, normalisation (mean, std), where it came from)."""
    if not args.quick:
        for folder in milestone_03_candidates(args):
            if (folder / models.MODEL_FILE).is_file():
                model, info = models.load_model(folder)
                normalize = info.get("normalize", {})  # the constants it was trained with
                mean = np.asarray(normalize.get("mean", CIFAR_MEAN), dtype=np.float32)
                std = np.asarray(normalize.get("std", CIFAR_STD), dtype=np.float32)
                return model, (mean, std), f"milestone 03's model from {folder}"
        console.print("[yellow]no saved milestone 03 model found in "
                      f"{[str(p) for p in milestone_03_candidates(args)]}; training one here")
    return train_small_cnn(train, plan["train_steps"], args.seed, console), \
        (CIFAR_MEAN, CIFAR_STD), f"a small CNN trained here for {plan['train_steps']} steps"


def batches(train, steps: int, rng, norm=(CIFAR_MEAN, CIFAR_STD), size: int = 128):
    """`steps` random training batches (inputs, labels), with horizontal flips."""
    for _ in range(steps):
        index = rng.integers(0, len(train.data), size)
        images = train.data[index]
        flip = rng.random(size) < 0.5
        images[flip] = images[flip, :, ::-1]
        yield tt.tensor(to_input(images, *norm)), tt.tensor(np.asarray(train.targets)[index])


def train_steps(model, train, steps: int, lr: float, rng, console=None, norm=None):
    optimizer = optim.Adam(model.parameters(), lr=lr)
    model.train()
    start = time.perf_counter()
    for step, (x, y) in enumerate(batches(train, steps, rng, *([norm] if norm else []))):
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if console is not None and (step + 1) % 20 == 0:
            console.print(f"  step {step + 1}/{steps}: loss {loss.item():.3f} "
                          f"({time.perf_counter() - start:.0f} s)")
    return model.eval()


def train_small_cnn(train, steps: int, seed: int, console):
    tt.manual_seed(seed)
    return train_steps(models.build_cnn(QUICK_CNN), train, steps, 3e-3,
                       np.random.default_rng(seed), console)


def pruning_and_distillation(model, norm, train, x_test, y_test, plan, seed, work) -> dict:
    """Structured pruning (+ a short fine-tune) and a distilled small student, measured."""
    rng = np.random.default_rng(seed + 1)
    pruned = prune_channels(model, plan["prune_amount"])
    pruned_acc = accuracy(tinytorch_predict(pruned), x_test, y_test)
    train_steps(pruned, train, plan["finetune_steps"], 1e-3, rng, norm=norm)
    tt.manual_seed(seed)
    student = models.build_cnn(STUDENT_CNN)
    loader = list(batches(train, plan["distill_steps"], rng, norm))
    distill(model, student, loader, optim.Adam(student.parameters(), lr=3e-3), epochs=1,
            temperature=4.0, alpha=0.7)
    return {
        "pruned_bytes": save_model(pruned, work / "cnn-pruned.safetensors"),
        "pruned_acc_before_finetune": pruned_acc,
        "pruned_acc": accuracy(tinytorch_predict(pruned), x_test, y_test),
        "student_bytes": save_model(student, work / "cnn-student.safetensors"),
        "student_params": student.num_parameters(),
        "student_acc": accuracy(tinytorch_predict(student), x_test, y_test),
        "pruned_model": pruned, "student_model": student,
    }


def onnx_agreement(path, model, x) -> dict:
    """check_onnx's report, with ok=False (instead of an exception) when outputs differ."""
    try:
        return {**check_onnx(path, model, x), "ok": True}
    except AssertionError as exc:
        outputs = tinytorch_predict(model)(x)
        theirs = run_onnx(path, x)
        return {"max_abs_diff": float(np.abs(outputs - theirs).max()), "ok": False,
                "argmax_agreement": float(np.mean(outputs.argmax(1) == theirs.argmax(1))),
                "error": str(exc)}


# ---------------------------------------------------------------- TinyGPT and the KV cache
def time_generation(model, new_tokens: int, repeats: int) -> dict:
    """Greedy generation with and without the KV cache: best-of-`repeats` tokens/s of each,
    and whether both produced the same tokens."""
    from tinytorch.language import generate

    prompt = np.arange(8) % model.vocab_size
    new_tokens = min(new_tokens, model.max_seq_len - len(prompt))  # stay in the window
    generate(model, prompt, 4, temperature=0)  # warm-up
    timings = {True: [], False: []}
    outputs = {}
    for _ in range(repeats):
        for use_cache in (True, False):
            start = time.perf_counter()
            outputs[use_cache] = generate(model, prompt, new_tokens, temperature=0,
                                          use_cache=use_cache).numpy()
            timings[use_cache].append(time.perf_counter() - start)
    cached, uncached = (new_tokens / min(timings[flag]) for flag in (True, False))
    return {"new_tokens": new_tokens, "context": model.max_seq_len, "cached_tps": cached,
            "uncached_tps": uncached, "speedup": cached / uncached,
            "identical": bool(np.array_equal(outputs[True], outputs[False]))}


def load_milestone04_gpt(args, console):
    """Milestone 04's saved model (full mode only), or None."""
    from tinytorch.language import load_pretrained
    from tinytorch.language.datasets import cache_dir

    if args.quick:
        return None
    # milestone 04 saves its full-run model to <cache>/models/tinygpt-shakespeare
    folder = Path(args.gpt_dir) if args.gpt_dir else cache_dir() / "models" / "tinygpt-shakespeare"
    if not folder.is_dir():
        console.print(f"[yellow]no milestone 04 model in {folder}; run milestone 04 first")
        return None
    try:
        model, _, _ = load_pretrained(folder)
    except (OSError, ValueError, KeyError) as exc:
        console.print(f"[yellow]could not load {folder}: {exc}")
        return None
    console.print(f"TinyGPT: milestone 04's model from {folder}")
    return model


def kv_cache_figures(args, plan, console) -> list[dict]:
    """The KV-cache claim is timed on 248 new tokens (the cache saves O(N^2) work, so its
    gain grows with length) with milestone 04's architecture at context 256, freshly
    initialised: speed does not depend on the weights. Milestone 04's own model, when
    found, is timed in its 64-token window as well."""
    long_context = fresh_long_context_gpt(args.seed)
    results = [dict(time_generation(long_context, 248, plan["gpt_repeats"]),
                    source="fresh TinyGPT (4 layers, d_model 128)", claim=True)]
    trained = load_milestone04_gpt(args, console)
    if trained is not None:
        results.append(dict(time_generation(trained.eval(), 256, plan["gpt_repeats"]),
                            source="milestone 04's TinyGPT", claim=False))
    return results


def fresh_long_context_gpt(seed: int):
    from tinytorch.language import TinyGPT

    tt.manual_seed(seed)
    return TinyGPT(65, d_model=128, num_heads=4, num_layers=4, max_seq_len=256,
                   bias=False).eval()


def kv_cache_sweep(args, plan, claim: dict) -> list[dict]:
    """Generation time with and without the cache at several lengths (for the report)."""
    model = fresh_long_context_gpt(args.seed)
    return [time_generation(model, n, plan["gpt_repeats"]) for n in KV_SWEEP_TOKENS] + [claim]


def write_inference_report(work, variants, x, kv_sweep, data_label, console) -> None:
    """Sizes, latencies (measured here, batch of len(x)) and accuracies as bars, and the
    KV-cache sweep (`kv_sweep()`, timed only when the picture can be drawn), as
    report.png/.svg in `work`."""
    def draw():
        matplotlib_figure_class()  # without matplotlib: stop here, before any timing
        rows = [{"name": name, "bytes": size, "accuracy": acc,
                 "latency_ms": latency_ms(tinytorch_predict(model), x)}
                for name, model, size, acc in variants]
        return draw_inference_report(rows, kv_sweep(), len(x),
                                     f"Milestone 05: optimized inference ({data_label})")
    write_report(draw, work / "report.png", console, "05_optimized_inference")


# ---------------------------------------------------------------- the milestone
def load_data(args, console):
    """(train, test, label): CIFAR-10, or in a quick run without it the labelled stand-in."""
    try:
        train = CIFAR10(args.data_dir, train=True, download=may_download(args))
        return train, CIFAR10(args.data_dir, train=False), "CIFAR-10"
    except FileNotFoundError as error:
        if not args.quick:
            raise
        console.print(f"[yellow]no CIFAR-10 found, so this quick run uses a synthetic "
                      f"stand-in.[/] {error}", highlight=False)
        return cifar10_stand_in(True), cifar10_stand_in(False), "SYNTHETIC stand-in data"


def main(argv: list[str] | None = None) -> int:
    if MISSING_EXTRA is not None:
        Console(stderr=True).print(
            f"[red]milestone 05 needs tinytorch-vision, tinytorch-language and onnx: "
            f"{MISSING_EXTRA}. Install them with: pip install \"tinytorch-mlops[milestone]\"")
        return 2
    args = parse_args(argv)
    plan = PLAN["quick" if args.quick else "full"]
    console = Console()
    start = time.perf_counter()
    work = Path(args.output).expanduser() if args.output else \
        Path(tempfile.mkdtemp(prefix="tinytorch-m05-"))
    work.mkdir(parents=True, exist_ok=True)

    try:
        train, test, data_label = load_data(args, console)
    except DATA_ERRORS as error:
        return no_data(console, "milestone 05 (optimized inference)", error, CIFAR10.url)
    model, (mean, std), source = load_or_train(args, plan, train, console)
    count = plan["test_images"] or len(test.data)
    rng = np.random.default_rng(args.seed)  # the image folders are sorted by class: sample
    chosen = np.sort(rng.permutation(len(test.data))[:count])
    x_test = to_input(test.data[chosen], mean, std)
    y_test = np.asarray(test.targets)[chosen]
    calibration_images = train.data[rng.permutation(len(train.data))[:512]]
    calibration = [tt.tensor(to_input(calibration_images[i:i + 128], mean, std))
                   for i in range(0, 512, 128)]
    console.print(f"data: {data_label}. model: {source}; {model.num_parameters():,} "
                  f"parameters; test images: {count:,}")

    # 1. quantization: sizes measured on disk, accuracy on the same test images
    float_bytes = save_model(model, work / "cnn-float32.safetensors")
    qmodel = quantize_model(model, calibration, mode="dequantize")
    int8_bytes = save_model(qmodel, work / "cnn-int8.safetensors")
    qinteger = quantize_model(model, calibration, mode="integer")
    float_acc = accuracy(tinytorch_predict(model), x_test, y_test)
    int8_acc = accuracy(tinytorch_predict(qmodel), x_test, y_test)
    integer_acc = accuracy(tinytorch_predict(qinteger), x_test, y_test)
    ratio = float_bytes / int8_bytes
    drop = (float_acc - int8_acc) * 100

    # 2. registry: register, promote, load back through the sha256 check
    registry = ModelRegistry(work / "registry")
    registry.register("cifar10-cnn", model, metrics={"test_accuracy": float_acc},
                      input_shape=(3, 32, 32), labels=list(test.classes))
    v = registry.register("cifar10-cnn-int8", qmodel, input_shape=(3, 32, 32),
                          labels=list(test.classes),
                          metrics={"test_accuracy": int8_acc, "bytes": int8_bytes})
    registry.promote("cifar10-cnn-int8", v.version, tag="production")
    served = registry.load("cifar10-cnn-int8", "production")
    same_after_reload = np.array_equal(tinytorch_predict(served)(x_test[:64]),
                                       tinytorch_predict(qmodel)(x_test[:64]))

    # 3. ONNX: export, check agreement, accuracy through onnxruntime
    sample = x_test[:64]
    onnx_float = export_onnx(model, work / "cnn-float32.onnx", sample)
    onnx_int8 = export_onnx(qmodel, work / "cnn-int8.onnx", sample)
    float_check = onnx_agreement(work / "cnn-float32.onnx", model, x_test[:256])
    int8_check = onnx_agreement(work / "cnn-int8.onnx", qmodel, x_test[:256])
    ort_acc = accuracy(lambda x: run_onnx(work / "cnn-int8.onnx", x), x_test, y_test)

    # 4. serving: bounded load test on 127.0.0.1
    service = ModelService(served, "cifar10-cnn-int8", v.version, (3, 32, 32),
                           labels=list(test.classes))
    payload = {"inputs": x_test[:8]}  # sent as safetensors: the batch's own float32 bytes
    with background_server(service) as url:
        load = load_test(url, payload, clients=plan["load_clients"],
                         requests=plan["load_requests"], max_seconds=120)

    # 5. TinyGPT: KV cache
    kv_results = kv_cache_figures(args, plan, console)

    # 6. structured pruning and distillation, reported (no target in the issue)
    other = pruning_and_distillation(model, (mean, std), train, x_test, y_test, plan,
                                     args.seed, work)

    rows = [
        ("int8 file vs float32 file", f">= {TARGET_RATIO}x smaller",
         f"{ratio:.2f}x ({float_bytes:,} -> {int8_bytes:,} bytes)", ratio >= TARGET_RATIO),
        ("test accuracy, float32 -> int8", f"drop <= {TARGET_DROP_POINTS} point",
         f"{float_acc:.2%} -> {int8_acc:.2%} ({drop:+.2f} points lost)",
         drop <= TARGET_DROP_POINTS),
        ("int8 integer-mode accuracy (exact int accumulation)", "reported",
         f"{integer_acc:.2%}", None),
        (f"registry: int8 v{v.version} promoted, sha256 verified on load", "loads",
         f"production -> v{v.version}, same predictions after reload: {same_after_reload}",
         same_after_reload),
        ("onnxruntime vs TinyTorch, float32 model", "allclose(rtol 1e-4, atol 1e-5)",
         f"max |diff| {float_check['max_abs_diff']:.2e}, agreement "
         f"{float_check['argmax_agreement']:.0%}", float_check["ok"]),
        ("onnxruntime vs TinyTorch, int8 model", "allclose(rtol 1e-4, atol 1e-5)",
         f"max |diff| {int8_check['max_abs_diff']:.2e}, agreement "
         f"{int8_check['argmax_agreement']:.0%}", int8_check["ok"]),
        ("int8 accuracy through onnxruntime", f"= TinyTorch's {int8_acc:.2%}",
         f"{ort_acc:.2%} (ONNX files {onnx_float:,} -> {onnx_int8:,} bytes)",
         abs(ort_acc - int8_acc) < 1e-9),
        (f"load test: {load.clients} clients x {load.requests} requests (batch 8)",
         "0 failed requests", f"{load.throughput:.1f} req/s, p50 {load.p50 * 1e3:.1f} ms, "
         f"p99 {load.p99 * 1e3:.1f} ms, {load.failures} failed",
         load.failures == 0 and load.completed == load.requests),
        (f"channel pruning {plan['prune_amount']:.0%} (+{plan['finetune_steps']} fine-tune "
         "steps)", "reported", f"{float_bytes:,} -> {other['pruned_bytes']:,} bytes; accuracy "
         f"{float_acc:.2%} -> {other['pruned_acc_before_finetune']:.2%} -> "
         f"{other['pruned_acc']:.2%}", None),
        (f"distilled student {STUDENT_CNN['stages']} ({plan['distill_steps']} steps, T=4)",
         "reported", f"{other['student_params']:,} parameters, {other['student_bytes']:,} "
         f"bytes; accuracy {other['student_acc']:.2%} (teacher {float_acc:.2%})", None),
    ]
    for kv in kv_results:
        where = f"{kv['source']}, {kv['new_tokens']} new tokens (context {kv['context']})"
        rows.append((f"greedy tokens, cache vs no cache: {where}", "identical",
                     "identical" if kv["identical"] else "DIFFERENT", kv["identical"]))
        rows.append((f"KV-cache speedup: {where}",
                     f">= {TARGET_KV_SPEEDUP}x" if kv["claim"] else "reported",
                     f"{kv['speedup']:.1f}x ({kv['cached_tps']:.0f} vs "
                     f"{kv['uncached_tps']:.1f} tokens/s)",
                     kv["speedup"] >= TARGET_KV_SPEEDUP if kv["claim"] else None))
    if data_label != "CIFAR-10":
        rows = [(f"{claim} (on {data_label})", *rest) for claim, *rest in rows]
    console.print(claims_table("Milestone 05: optimized inference", rows))
    write_inference_report(work, [
        ("float32", model, float_bytes, float_acc), ("int8", qmodel, int8_bytes, int8_acc),
        (f"pruned {plan['prune_amount']:.0%}", other["pruned_model"], other["pruned_bytes"],
         other["pruned_acc"]),
        ("distilled", other["student_model"], other["student_bytes"], other["student_acc"])],
        x_test[:64], lambda: kv_cache_sweep(args, plan, kv_results[0]), data_label, console)
    console.print(f"Files in {work}. Wall time "
                  f"{time.perf_counter() - start:.0f} s.")
    return 0 if all(ok is not False for *_, ok in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
