"""tinytorch.language: tokenizers, embeddings, attention, transformers, TinyGPT, generation.

    from tinytorch.language import CharTokenizer, TinyGPT, LanguageModelTrainer

    tokenizer = CharTokenizer().fit(text)
    model = TinyGPT(vocab_size=tokenizer.get_vocab_size(), d_model=256, num_heads=8,
                    num_layers=4)
    trainer = LanguageModelTrainer(model, tokenizer)
    history = trainer.fit(text, epochs=1)
    print(trainer.generate_text("To be or not to be", max_length=100))

Built on tinytorch.core only (Tensor, Function, nn, optim, data, training).
"""

from .__about__ import __version__
from .attention import ScaledDotProductAttention, causal_mask, scaled_dot_product_attention
from .data import RandomWindowLoader, TextWindowDataset, random_windows
from .datasets import load_tiny_shakespeare, tiny_shakespeare_path
from .embedding import (
    Embedding,
    LearnedPositionalEmbedding,
    PositionalEncoding,
    embedding,
    sinusoidal_table,
)
from .generation import generate, sample_logits
from .gpt import TinyGPT
from .kv_cache import KVCache, LayerKVCache
from .multihead import MultiHeadAttention, MultiheadAttention
from .pretrained import load_pretrained, save_pretrained
from .shapes import STATE_SHAPES as _STATE_SHAPES
from .tokenizers import BPETokenizer, CharTokenizer, Tokenizer, WordTokenizer, pretokenize
from .trainer import LanguageModelTrainer, language_model_loss
from .transformer import TransformerBlock

# the layers a saved architecture spec may name (entry point group `tinytorch.buildable`),
# each with the function that gives its state shapes from its arguments (see shapes.py)
BUILDABLE = dict(_STATE_SHAPES)

__all__ = [name for name in dir() if not name.startswith("_")]
