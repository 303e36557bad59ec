"""The course: 18 modules in four phases, what each one teaches and which code it owns.

What it teaches: a syllabus written as data. Each module lists the public package
definitions its notebook teaches (`teaches`, in reading order; `units` adds the private
helpers of their files that they need, and the definitions holding graded regions), the
solution regions the student writes there (`solutions`, by enclosing function) and a hint
for each. `OWNERSHIP` says
which module introduces every other part of the library, which is what the dependency
check uses: module N's notebook may import only what modules before N introduced, plus
the provided scaffolding (module 0: the Tensor container, the Function protocol, dtypes).

Systems lesson: ordering is a dependency graph. A forward reference (module 3 importing
something only taught in module 6) is the curriculum's version of an import cycle, and is
checked mechanically, like tinytorch.core never importing tinytorch.vision.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from functools import cached_property

from .source import Unit, with_helpers

CORE = "tinytorch-core"
VISION = "tinytorch-vision"
LANGUAGE = "tinytorch-language"
PERF = "tinytorch-perf"
MLOPS = "tinytorch-mlops"

_IMPORT_NAME = {CORE: "tinytorch.core", VISION: "tinytorch.vision",
                LANGUAGE: "tinytorch.language", PERF: "tinytorch.perf",
                MLOPS: "tinytorch.mlops"}


@dataclass(frozen=True)
class Phase:
    number: int
    name: str
    modules: tuple[int, ...]
    milestone: str  # milestone script number in milestones/ (e.g. "01")
    milestone_name: str
    question: str  # the seeds' validation question for the phase


PHASES = (
    Phase(1, "Foundation", (1, 2, 3, 4, 5), "01", "XOR: nonlinearity is required",
          "Why can't a network without ReLU learn XOR?"),
    Phase(2, "Learning", (6, 7, 8, 9, 10), "03", "CIFAR-10 CNN training",
          "How does autograd compute gradients automatically?"),
    Phase(3, "Language", (11, 12, 13, 14, 15), "04", "TinyGPT text generation",
          "Why does attention scale quadratically with sequence length?"),
    Phase(4, "Optimization", (16, 17, 18), "05", "Optimized inference",
          "What optimizations make transformers production-viable?"),
)


@dataclass(frozen=True)
class CourseModule:
    number: int
    slug: str
    title: str
    package: str
    teaches: tuple[Unit, ...] = ()  # the public definitions the notebook copies, in order
    solutions: tuple[str, ...] = ()  # region keys "python.module:Qual.name"
    hints: dict[str, str] = field(default_factory=dict)
    concept: str = ""

    @property
    def id(self) -> str:
        return f"{self.number:02d}"

    @property
    def stem(self) -> str:
        return f"{self.id}_{self.slug}"

    @property
    def phase(self) -> Phase:
        return next(p for p in PHASES if self.number in p.modules)

    @property
    def available(self) -> bool:
        """Is the package this module builds on installed?"""
        return importlib.util.find_spec(_IMPORT_NAME[self.package]) is not None

    @property
    def ready(self) -> bool:
        """Does the module have a notebook (units and graded solutions)?"""
        return bool(self.teaches and self.solutions)

    @cached_property
    def units(self) -> tuple[Unit, ...]:
        """The notebook's cells: the definitions of every graded region (a region may sit in
        a private helper), then what the module teaches, each preceded by the private
        helpers of its file that it needs. The syllabus names public definitions only."""
        taught = with_helpers(self.teaches)
        graded = []
        for key in self.solutions:
            module, _, qualname = key.partition(":")
            unit = Unit(module, qualname.split(".")[0])
            if unit not in taught and unit not in graded:
                graded.append(unit)
        return with_helpers([*graded, *self.teaches])


def _units(module: str, *names: str) -> tuple[Unit, ...]:
    return tuple(Unit(module, name) for name in names)


C = "tinytorch.core"
L = "tinytorch.language"
V = "tinytorch.vision"
P = "tinytorch.perf"
M = "tinytorch.mlops"

MODULES: tuple[CourseModule, ...] = (
    CourseModule(
        1, "setup", "Setup", CORE,
        teaches=(*_units(f"{C}.random", "Generator", "default_generator", "manual_seed",
                         "get_rng"),
                 *_units(f"{C}.dtypes", "result_dtype")),
        solutions=(f"{C}.random:Generator.manual_seed", f"{C}.random:get_rng",
                   f"{C}.dtypes:result_dtype"),
        hints={
            f"{C}.random:Generator.manual_seed":
                "remember the seed as an int and make a fresh np.random.default_rng(seed)",
            f"{C}.random:get_rng":
                "None means the global default_generator; otherwise check the type and use "
                "generator.rng",
            f"{C}.dtypes:result_dtype":
                "same dtype -> keep it; two different floats -> TypeError naming both; int "
                "with float -> the float; two ints -> np.promote_types",
        },
        concept="Reproducibility and numeric types: seeded generators, float32 vs float64",
    ),
    CourseModule(
        2, "tensor", "Tensor", CORE,
        teaches=(*_units(f"{C}.ops.arithmetic", "as_operands", "Add", "Sub", "Mul", "Div",
                           "add", "sub", "mul", "div"),
                 *_units(f"{C}.ops.linalg", "MatMul", "matmul", "rows_matmul", "Linear",
                         "linear"),
                 *_units(f"{C}.ops.reduction", "normalize_dims", "Sum", "Mean",
                         "reduce_sum", "mean")),
        solutions=(f"{C}.tensor:_as_array", f"{C}.ops.arithmetic:Add.forward",
                   f"{C}.ops.arithmetic:Sub.forward", f"{C}.ops.arithmetic:Mul.forward",
                   f"{C}.ops.arithmetic:Div.forward", f"{C}.ops.linalg:MatMul.forward",
                   f"{C}.ops.linalg:matmul", f"{C}.ops.linalg:Linear.forward",
                   f"{C}.ops.reduction:Sum.forward", f"{C}.ops.reduction:Mean.forward"),
        hints={
            f"{C}.tensor:_as_array":
                "np.asarray(data); Python floats arrive as float64: cast to "
                "dtypes.default_float; Python ints to np.int64 (numpy scalars keep their type)",
            f"{C}.ops.arithmetic:Add.forward": "numpy broadcasting does the work: a + b",
            f"{C}.ops.arithmetic:Sub.forward": "a - b",
            f"{C}.ops.arithmetic:Mul.forward":
                "save both inputs for backward (ctx.save_for_backward), return a * b",
            f"{C}.ops.arithmetic:Div.forward": "save both inputs, return a / b",
            f"{C}.ops.linalg:MatMul.forward": "save both inputs, return np.matmul(a, b)",
            f"{C}.ops.linalg:matmul":
                "the inner dims must agree: a.shape[-1] against b.shape[-2] (or b.shape[0] "
                "for a vector); raise ValueError naming both shapes",
            f"{C}.ops.linalg:Linear.forward":
                "out = x @ weight.T, then add the bias in place when there is one",
            f"{C}.ops.reduction:Sum.forward": "np.sum over `axes`, honouring keepdim",
            f"{C}.ops.reduction:Mean.forward":
                "store how many elements were averaged in ctx.count (backward divides by "
                "it), return np.mean",
        },
        concept="Memory layout and vectorization: a numpy call beats a Python loop by 100x+",
    ),
    CourseModule(
        3, "activations", "Activations", CORE,
        teaches=(*_units(f"{C}.ops.pointwise", "ReLU", "Sigmoid", "Tanh"),
                 *_units(f"{C}.ops.reduction", "Softmax", "softmax")),
        solutions=(f"{C}.ops.pointwise:ReLU.forward", f"{C}.ops.pointwise:Sigmoid.forward",
                   f"{C}.ops.pointwise:Tanh.forward", f"{C}.ops.reduction:Softmax.forward"),
        hints={
            f"{C}.ops.pointwise:ReLU.forward":
                "save the boolean mask a > 0 with ctx.save_for_backward (backward needs it) "
                "and return max(a, 0) in a's dtype",
            f"{C}.ops.pointwise:Sigmoid.forward":
                "1 / (1 + exp(-a)) overflows for large |a|; use 0.5 * (tanh(a / 2) + 1)",
            f"{C}.ops.pointwise:Tanh.forward": "np.tanh",
            f"{C}.ops.reduction:Softmax.forward":
                "subtract the max along dim first (softmax(x) = softmax(x - c)), exponentiate, "
                "divide by the sum along dim",
        },
        concept="Numerical stability: overflow-free sigmoid and softmax",
    ),
    CourseModule(
        4, "layers", "Layers", CORE,
        teaches=(*_units(f"{C}.nn.init", "calculate_gain", "uniform_", "kaiming_uniform_"),
                 *_units(f"{C}.nn.module", "Parameter", "IncompatibleKeys", "Module"),
                 *_units(f"{C}.nn.layers", "Linear", "Dense")),
        solutions=(f"{C}.nn.init:_calculate_fan_in_and_fan_out", f"{C}.nn.init:kaiming_uniform_",
                   f"{C}.nn.module:Module.__setattr__", f"{C}.nn.module:Module.named_parameters",
                   f"{C}.nn.layers:Linear.__init__", f"{C}.nn.layers:Linear.reset_parameters"),
        hints={
            f"{C}.nn.init:_calculate_fan_in_and_fan_out":
                "fan_in = shape[1] * receptive field, fan_out = shape[0] * receptive field, "
                "receptive field = product of shape[2:]",
            f"{C}.nn.init:kaiming_uniform_":
                "std = gain / sqrt(fan); a uniform(-b, b) has std b / sqrt(3), so b = sqrt(3) "
                "* std",
            f"{C}.nn.module:Module.__setattr__":
                "a Parameter goes into self._parameters, a Module into self._modules, a "
                "registered buffer name into self._buffers (then drop any stale plain "
                "attribute of that name from __dict__); anything else is set with "
                "object.__setattr__",
            f"{C}.nn.module:Module.named_parameters":
                "walk the modules (named_modules), yield 'prefix.name', skip None and "
                "parameters already seen (shared weights count once)",
            f"{C}.nn.layers:Linear.__init__":
                "weight is a Parameter of shape (out_features, in_features), bias of shape "
                "(out_features,) or None",
            f"{C}.nn.layers:Linear.reset_parameters":
                "kaiming_uniform_ with a = sqrt(5) for the weight; bias uniform in "
                "+-1/sqrt(in_features)",
        },
        concept="Matrix multiplication dominates: FLOPs and parameter memory of Linear",
    ),
    CourseModule(
        5, "networks", "Networks", CORE,
        teaches=(*_units(f"{C}.nn.container", "Sequential"),
                 *_units(f"{C}.nn.activation", "ReLU", "Sigmoid", "Tanh")),
        solutions=(f"{C}.nn.container:Sequential.__init__", f"{C}.nn.container:Sequential.forward"),
        hints={
            f"{C}.nn.container:Sequential.__init__":
                "register each module under its position as a string (add_module(str(i), m)); "
                "refuse anything that is not a Module with a TypeError naming its position",
            f"{C}.nn.container:Sequential.forward":
                "feed x through self._modules.values() in order",
        },
        concept="Composition: depth, width and what a model's parameters cost",
    ),
    CourseModule(
        6, "autograd", "Autograd", CORE,
        teaches=(*_units(f"{C}.autograd", "topological_order", "unbroadcast", "backward"),
                 *_units(f"{C}.ops.arithmetic", "Mul"),
                 *_units(f"{C}.ops.linalg", "MatMul"),
                 *_units(f"{C}.ops.reduction", "Sum"),
                 *_units(f"{C}.ops.pointwise", "ReLU", "Sigmoid", "Tanh")),
        solutions=(f"{C}.autograd:topological_order", f"{C}.autograd:unbroadcast",
                   f"{C}.autograd:backward", f"{C}.ops.arithmetic:Mul.backward",
                   f"{C}.ops.linalg:MatMul.backward", f"{C}.ops.reduction:_spread",
                   f"{C}.ops.pointwise:ReLU.backward", f"{C}.ops.pointwise:Sigmoid.backward",
                   f"{C}.ops.pointwise:Tanh.backward"),
        hints={
            f"{C}.autograd:topological_order":
                "iterative depth-first search with an explicit stack of (node, iterator over "
                "its parents); append a node once all its parents are done, then reverse",
            f"{C}.autograd:unbroadcast":
                "sum away the extra leading dims, then sum (keepdims) the dims that were 1 in "
                "`shape` but are not 1 in the gradient",
            f"{C}.autograd:backward":
                "for each input: skip None, unbroadcast to its shape, accumulate into a leaf "
                "(parent._accumulate_grad) or add into grads[parent] for a node",
            f"{C}.ops.arithmetic:Mul.backward": "d(a*b)/da = b, d(a*b)/db = a",
            f"{C}.ops.linalg:MatMul.backward":
                "dA = G B^T and dB = A^T G (swap the last two axes); vectors were promoted "
                "to matrices, squeeze them back",
            f"{C}.ops.reduction:_spread":
                "put the reduced axes back (np.expand_dims unless keepdim) and "
                "np.broadcast_to the input shape",
            f"{C}.ops.pointwise:ReLU.backward": "the gradient passes where the input was > 0",
            f"{C}.ops.pointwise:Sigmoid.backward": "s' = s (1 - s), s the saved output",
            f"{C}.ops.pointwise:Tanh.backward": "tanh' = 1 - tanh^2, from the saved output",
        },
        concept="Graph memory: training holds every saved activation until backward",
    ),
    CourseModule(
        7, "spatial", "Spatial (CNNs)", VISION,
        teaches=_units(f"{V}.im2col", "span", "output_hw", "symmetric", "to_nhwc",
                       "as_nchw", "pad_nhwc", "windows", "im2col", "kernel_offsets", "col2im",
                       "add_patches"),
        solutions=(f"{V}.im2col:output_hw", f"{V}.im2col:windows", f"{V}.im2col:add_patches"),
        hints={
            f"{V}.im2col:output_hw":
                "per axis: (padded - span) // stride + 1, span = dilation * (k - 1) + 1 "
                "(see span())",
            f"{V}.im2col:windows":
                "one output step moves `stride` pixels (stride * the row/column stride in "
                "bytes), one kernel step moves `dilation` pixels; batch and channel strides "
                "stay as they are",
            f"{V}.im2col:add_patches":
                "for each kernel offset (i, j) from kernel_offsets, add that offset's slab of "
                "patch gradients onto out[:, rows, columns, :] (overlaps must add up)",
        },
        concept="Convolution as im2col + one matmul: the memory price of speed",
    ),
    CourseModule(
        8, "optimizers", "Optimizers", CORE,
        teaches=(*_units(f"{C}.optim.optimizer", "Optimizer", "check_range"),
                 *_units(f"{C}.optim.sgd", "SGD"),
                 *_units(f"{C}.optim.adam", "Adam", "AdamW")),
        solutions=(f"{C}.optim.sgd:SGD._update", f"{C}.optim.adam:Adam._update",
                   f"{C}.optim.adam:Adam._init_state"),
        hints={
            f"{C}.optim.sgd:SGD._update":
                "g += weight_decay * p; momentum buffer b = g on the first step, then "
                "b = momentum * b + (1 - dampening) * g; nesterov uses g + momentum * b; "
                "finally p -= lr * g (in place)",
            f"{C}.optim.adam:Adam._update":
                "m += (1 - beta1) (g - m); v = beta2 v + (1 - beta2) g^2 (both in place); step "
                "by lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)",
            f"{C}.optim.adam:Adam._init_state":
                "step 0 and two zero arrays shaped like the parameter: exp_avg and exp_avg_sq",
        },
        concept="Optimizer state memory: Adam keeps 2 extra copies of the weights (3x total)",
    ),
    CourseModule(
        9, "dataloader", "DataLoader", CORE,
        teaches=(*_units(f"{C}.data.collate", "default_collate"),
                 *_units(f"{C}.data.dataloader", "DataLoader")),
        solutions=(f"{C}.data.collate:_stack", f"{C}.data.dataloader:DataLoader.__len__",
                   f"{C}.data.dataloader:DataLoader._batch_indices"),
        hints={
            f"{C}.data.collate:_stack":
                "every sample must have the first sample's shape (ValueError naming the "
                "positions and shapes); then np.stack them",
            f"{C}.data.dataloader:DataLoader.__len__":
                "ceil(samples / batch_size), or floor with drop_last",
            f"{C}.data.dataloader:DataLoader._batch_indices":
                "order = a permutation from get_rng(self.generator) when shuffling, else "
                "arange; cut it into slices of batch_size (dropping a short last one with "
                "drop_last)",
        },
        concept="The input pipeline: per-sample Python calls vs one vectorized gather",
    ),
    CourseModule(
        10, "training", "Training", CORE,
        teaches=(*_units(f"{C}.ops.loss", "CrossEntropy"),
                 *_units(f"{C}.nn.functional", "mse_loss"),
                 *_units(f"{C}.nn.utils", "clip_grad_norm_"),
                 *_units(f"{C}.training.metrics", "accuracy")),
        solutions=(f"{C}.ops.loss:CrossEntropy.forward", f"{C}.ops.loss:CrossEntropy.backward",
                   f"{C}.nn.functional:mse_loss", f"{C}.nn.utils:clip_grad_norm_",
                   f"{C}.training.metrics:accuracy"),
        hints={
            f"{C}.ops.loss:CrossEntropy.forward":
                "log_softmax stably: shift by the row max, log of the summed exp; the "
                "code below needs `exp`, `total` and `log_probs`",
            f"{C}.ops.loss:CrossEntropy.backward":
                "the gradient is softmax(z) * sum(q) - q, scaled per row by grad",
            f"{C}.nn.functional:mse_loss": "reduce (input - target)^2",
            f"{C}.nn.utils:clip_grad_norm_":
                "total = (sum of |g|^p over all gradients)^(1/p) (max for inf); if "
                "max_norm / (total + 1e-6) < 1 scale every gradient in place",
            f"{C}.training.metrics:accuracy":
                "top-1: argmax over the class axis equals the label; top-k: count classes "
                "scored strictly higher than the target's score",
        },
        concept="The training loop's memory: gradient accumulation and clipping",
    ),
    CourseModule(
        11, "tokenization", "Tokenization", LANGUAGE,
        teaches=_units(f"{L}.tokenizers.char", "CharTokenizer"),
        solutions=(f"{L}.tokenizers.char:CharTokenizer.fit",
                   f"{L}.tokenizers.char:CharTokenizer.encode_array",
                   f"{L}.tokenizers.char:CharTokenizer.decode",
                   f"{L}.tokenizers.bpe:_merge_pair"),
        hints={
            f"{L}.tokenizers.char:CharTokenizer.fit":
                "the vocabulary is the sorted distinct code points: np.unique",
            f"{L}.tokenizers.char:CharTokenizer.encode_array":
                "ids = np.searchsorted(self._codes, codes); a code is unknown where the table "
                "at that id (clipped to the last id) is not the code itself",
            f"{L}.tokenizers.char:CharTokenizer.decode":
                "look the ids up in self._codes and turn the utf-32-le bytes back into text",
            f"{L}.tokenizers.bpe:_merge_pair":
                "walk left to right; where seq[i], seq[i + 1] == a, b emit `new` and skip "
                "two, else copy one",
        },
        concept="Vocabulary size vs sequence length",
    ),
    CourseModule(
        12, "embeddings", "Embeddings", LANGUAGE,
        teaches=_units(f"{L}.embedding", "EmbeddingLookup", "embedding", "Embedding",
                       "sinusoidal_table"),
        solutions=(f"{L}.embedding:EmbeddingLookup.forward",
                   f"{L}.embedding:EmbeddingLookup.backward", f"{L}.embedding:sinusoidal_table"),
        hints={
            f"{L}.embedding:EmbeddingLookup.forward": "a gather: weight[ids]",
            f"{L}.embedding:EmbeddingLookup.backward":
                "scatter-add the gradient rows into a zero (rows, dim) array with np.add.at "
                "(a plain fancy-index += loses repeated ids)",
            f"{L}.embedding:sinusoidal_table":
                "angle = pos / 10000^(2i/d); even columns sin(angle), odd columns cos(angle)",
        },
        concept="Embedding tables: parameters that are only ever gathered",
    ),
    CourseModule(
        13, "attention", "Attention", LANGUAGE,
        teaches=(*_units(f"{L}.attention", "causal_mask", "mask_to_bias",
                         "attention_forward", "attention_backward", "split_heads",
                         "merge_heads", "ScaledDotProductAttention",
                         "scaled_dot_product_attention"),
                 *_units(f"{L}.multihead", "MultiheadAttention")),
        solutions=(f"{L}.attention:causal_mask", f"{L}.attention:attention_forward",
                   f"{L}.attention:attention_backward"),
        hints={
            f"{L}.attention:causal_mask":
                "query i (shifted by offset) may see key j when j <= i + offset: compare an "
                "arange column with an arange row",
            f"{L}.attention:attention_forward":
                "scores = Q K^T (swap the last two axes of k), times scale, plus the bias if "
                "any, then probs = _softmax_inplace(scores)",
            f"{L}.attention:attention_backward":
                "softmax backward: dS = P * (dP - rowsum(dP * P)); then dQ = dS K and "
                "dK = dS^T Q, both with dS already multiplied by scale (`scaled`)",
        },
        concept="O(N^2) memory of the attention matrix",
    ),
    CourseModule(
        14, "transformers", "Transformers", LANGUAGE,
        teaches=(*_units(f"{L}.feedforward", "FeedForward"),
                 *_units(f"{L}.transformer", "TransformerBlock")),
        solutions=(f"{L}.transformer:TransformerBlock.forward",),
        hints={
            f"{L}.transformer:TransformerBlock.forward":
                "pre-norm: x = x + dropout1(self_attn.self_attention(norm1(x), is_causal=..., "
                "bias=attn_bias, kv_cache=kv_cache)); then x + dropout2(_mlp(norm2(x)))",
        },
        concept="Layer memory accumulates with depth",
    ),
    CourseModule(
        15, "generation", "Generation", LANGUAGE,
        teaches=(*_units(f"{L}.generation", "sample_logits"),
                 *_units(f"{L}.kv_cache", "LayerKVCache", "KVCache")),
        solutions=(f"{L}.generation:sample_logits", f"{L}.generation:_nucleus",
                   f"{L}.kv_cache:LayerKVCache.append"),
        hints={
            f"{L}.generation:sample_logits":
                "divide by the temperature; with top_k keep logits >= the k-th largest "
                "(np.partition), others -inf; then a stable softmax into `probs`",
            f"{L}.generation:_nucleus":
                "sort probabilities descending; keep a token while the mass before it is "
                "< top_p; scatter the keep flags back to the original order into `keep`",
            f"{L}.kv_cache:LayerKVCache.append":
                "copy the new keys/values into positions length..end of the buffers, advance "
                "length, return views of positions 0..end",
        },
        concept="KV cache: recompute vs remember",
    ),
    CourseModule(
        16, "kernels", "Kernels", PERF,
        teaches=(*_units(f"{P}.kernels.matmul", "matmul_loops", "matmul_rows",
                         "matmul_blocked", "matmul_blas"),
                 *_units(f"{P}.kernels.conv", "im2col", "conv2d_im2col")),
        solutions=(f"{P}.kernels.matmul:matmul_loops", f"{P}.kernels.matmul:matmul_rows",
                   f"{P}.kernels.matmul:matmul_blocked", f"{P}.kernels.conv:im2col",
                   f"{P}.kernels.conv:conv2d_im2col"),
        hints={
            f"{P}.kernels.matmul:matmul_loops":
                "for i, for p, for j: out[i][j] += a[i][p] * b[p][j] on Python lists (hoist "
                "a[i][p] and the rows out of the inner loop)",
            f"{P}.kernels.matmul:matmul_rows":
                "row i of C = sum over p of a[i, p] * b[p]: broadcast a[i, :, None] * b and "
                "sum axis 0 into out[i]",
            f"{P}.kernels.matmul:matmul_blocked":
                "loop over (i, p, j) tiles of size `block`; out tile += (A tile[:, :, None] "
                "* B tile).sum(axis=1)",
            f"{P}.kernels.conv:im2col":
                "sliding_window_view over axes (2, 3), keep every `stride`-th window, move "
                "(Ho, Wo) before C and reshape to (N*Ho*Wo, C*kh*kw)",
            f"{P}.kernels.conv:conv2d_im2col":
                "cols = im2col(x, kh, kw, stride); out = cols @ w reshaped to (O, C*kh*kw), "
                "transposed",
        },
        concept="Naive loops vs BLAS: the same FLOPs at very different speeds",
    ),
    CourseModule(
        17, "benchmarking", "Benchmarking", PERF,
        teaches=(*_units(f"{P}.benchmark", "Interval", "median_ci"),
                 *_units(f"{P}.roofline", "PLOT_FORMATS", "RooflinePoint", "RooflineModel")),
        solutions=(f"{P}.benchmark:median_ci", f"{P}.benchmark:_coverage",
                   f"{P}.roofline:RooflineModel.ridge_point",
                   f"{P}.roofline:RooflineModel.attainable_gflops",
                   f"{P}.roofline:RooflineModel.classify"),
        hints={
            f"{P}.benchmark:median_ci":
                "try j = 2, 3, ...: [x_j, x_(n+1-j)] (1-based) is narrower; keep the last "
                "one whose coverage is still >= level",
            f"{P}.benchmark:_coverage":
                "P(j <= Binomial(n, 1/2) <= n - j) = sum of comb(n, i) for i in j..n-j, "
                "over 2^n",
            f"{P}.roofline:RooflineModel.ridge_point":
                "the intensity where the roofs meet: peak / bandwidth",
            f"{P}.roofline:RooflineModel.attainable_gflops":
                "min(peak, bandwidth * intensity)",
            f"{P}.roofline:RooflineModel.classify":
                "at or right of the ridge point: compute-bound, else memory-bound",
        },
        concept="Roofline: compute-bound or memory-bound",
    ),
    CourseModule(
        18, "mlops", "MLOps", MLOPS,
        teaches=(*_units(f"{M}.compression.quantization", "QMAX", "quantize_per_channel",
                         "dequantize_per_channel", "activation_qparams",
                         "quantize_activation"),
                 *_units(f"{M}.compression.pruning", "magnitude_mask")),
        solutions=(f"{M}.compression.quantization:quantize_per_channel",
                   f"{M}.compression.quantization:dequantize_per_channel",
                   f"{M}.compression.quantization:activation_qparams",
                   f"{M}.compression.pruning:magnitude_mask"),
        hints={
            f"{M}.compression.quantization:quantize_per_channel":
                "max |w| over every axis but `axis` (keepdims), scale = max / QMAX (1 where "
                "the channel is all zeros), q = clip(rint(w / scale), -QMAX, QMAX) as int8",
            f"{M}.compression.quantization:dequantize_per_channel":
                "q as float32 times the scale reshaped to broadcast along `axis`",
            f"{M}.compression.quantization:activation_qparams":
                "scale = (high - low) / 255 (1 for an empty range); zero_point = "
                "round(-low / scale) clipped to [0, 255]",
            f"{M}.compression.pruning:magnitude_mask":
                "argsort |w| over the flattened array (stable) and switch off the `prune` "
                "smallest entries",
        },
        concept="Compression: int8 weights are 4x smaller",
    ),
)

# Which module introduces each part of the library (longest dotted prefix wins).
# Module 0 is the provided scaffolding every notebook may use.
OWNERSHIP: dict[str, int] = {
    f"{C}.tensor": 0,
    f"{C}.creation": 0,
    f"{C}.dtypes": 0,
    f"{C}.devices": 0,  # CPU-only device answers, used by the factories and .to()
    f"{C}.extensions": 0,  # the nn/F entry points of later phases
    f"{C}.torch_style": 0,  # the arrays user-defined Functions receive
    f"{C}.data.workers": 0,  # worker processes for num_workers (provided, not written)
    f"{C}.parallel": 0,  # row blocks of memory-bound ops on every core (taught in 16)
    f"{C}.autograd.Function": 0,
    f"{C}.autograd.no_grad": 0,
    f"{C}.autograd.enable_grad": 0,
    f"{C}.autograd.is_grad_enabled": 0,
    f"{C}.autograd.set_grad_enabled": 0,
    f"{C}.autograd.RemovableHandle": 0,
    f"{C}.autograd.OpEvent": 0,
    f"{C}.autograd.register_op_hook": 0,
    f"{C}.cost": 0,  # the shapes and shared formulas each Function.cost uses
    f"{C}.atomic": 0,  # atomic file writes, used by every package that saves a file
    f"{C}.bad_input": 0,  # checked conversion of caller data, and the bad-input sweep
    f"{C}.memory.allocating": 0,  # out-of-memory sizes as errors naming the layer
    f"{C}.random": 1,
    f"{C}.dtypes.result_dtype": 1,
    f"{C}.cli": 1,
    f"{C}.ops": 2,
    f"{C}.functions": 2,
    f"{C}.nn.functional.linear": 2,
    f"{C}.ops.pointwise": 3,
    f"{C}.ops.reduction.Softmax": 3,
    f"{C}.ops.reduction.LogSoftmax": 3,
    f"{C}.ops.reduction.softmax": 3,
    f"{C}.ops.reduction.log_softmax": 3,
    f"{C}.nn.functional.relu": 3,
    f"{C}.nn.functional.leaky_relu": 3,
    f"{C}.nn.functional.gelu": 3,
    f"{C}.nn.functional.sigmoid": 3,
    f"{C}.nn.functional.tanh": 3,
    f"{C}.nn.functional.softmax": 3,
    f"{C}.nn.functional.log_softmax": 3,
    f"{C}.nn": 4,
    f"{C}.nn.container": 5,
    f"{C}.nn.activation": 5,
    f"{C}.autograd": 6,
    f"{C}.graph": 0,  # the picture of an autograd graph (provided; module 06 draws one)
    f"{C}.optim": 8,
    f"{C}.memory": 8,
    f"{C}.data": 9,
    f"{C}.training": 10,
    f"{C}.ops.loss": 10,
    f"{C}.nn.loss": 10,
    f"{C}.nn.utils": 10,
    f"{C}.nn.functional": 10,
    "tinytorch.vision": 7,
    "tinytorch.language": 11,
    "tinytorch.language.tokenizers.base": 0,  # the Tokenizer interface and input checks
    "tinytorch.language.embedding": 12,
    "tinytorch.language.attention": 13,
    "tinytorch.language.multihead": 13,
    "tinytorch.language.transformer": 14,
    "tinytorch.language.feedforward": 14,
    "tinytorch.language.gpt": 14,
    "tinytorch.language.generation": 15,
    "tinytorch.language.kv_cache": 15,
    "tinytorch.language.trainer": 15,
    "tinytorch.language.data": 15,
    "tinytorch.language.pretrained": 15,
    "tinytorch.perf": 16,
    "tinytorch.perf.benchmark": 17,
    "tinytorch.perf.roofline": 17,
    "tinytorch.perf.flops": 17,
    "tinytorch.perf.profiler": 17,
    "tinytorch.perf.tracing": 17,
    "tinytorch.perf.costs": 17,
    "tinytorch.perf.memory": 17,
    "tinytorch.perf.models": 17,
    "tinytorch.perf.cli": 17,
    "tinytorch.mlops": 18,
}
# nn.functional's layer helpers belong with layers
for _name in ("dropout", "layer_norm", "one_hot"):
    OWNERSHIP[f"{C}.nn.functional.{_name}"] = 4


def owner(dotted: str) -> int | None:
    """The module that introduces `dotted` (a module path or module.attribute)."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        key = ".".join(parts[:cut])
        if key in OWNERSHIP:
            return OWNERSHIP[key]
    return None


def get(module_id) -> CourseModule:
    """A module by number (3, "3", "03"), slug ("activations") or stem ("03_activations")."""
    key = str(module_id).strip().lower().removesuffix(".ipynb")
    for module in MODULES:
        if key in (module.id, str(module.number), module.slug, module.stem):
            return module
    known = ", ".join(m.stem for m in MODULES)
    raise KeyError(f"unknown course module {module_id!r}; known: {known}")


def region_owner(region_key: str) -> CourseModule | None:
    for module in MODULES:
        if region_key in module.solutions:
            return module
    return None
