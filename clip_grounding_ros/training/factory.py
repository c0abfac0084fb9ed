# Copyright 2026 The clip_grounding_ros authors
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""
Build a small CLIP model, tokenizer and processor in the Hugging Face layout.

The result saves with ``save_pretrained`` and loads with the same ``from_pretrained`` calls
as ``openai/clip-vit-base-patch32``; the tests build a tiny one of these, the training
script a larger one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
import json

from tokenizers import models, normalizers, pre_tokenizers, Regex, Tokenizer, trainers
from transformers import CLIPConfig, CLIPModel, CLIPProcessor, CLIPTokenizer

from ..core.perception.model import image_processor_class

BOS, EOS = '<|startoftext|>', '<|endoftext|>'
# CLIP's word splitting pattern (letters, single digits, punctuation runs).
CLIP_WORDS = Regex(r"""'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""")


@dataclass(frozen=True)
class ModelSize:
    """
    Architecture of a small CLIPModel (ViT image tower, transformer text tower).

    The defaults are the bundled simulator model's: 4-pixel patches give the dense pass a
    16-row patch grid at its default input size (the model's ``image_size`` on the short
    side), fine enough for boxes around objects about 25 px tall in a 320x240 frame.
    """

    image_size: int = 64
    patch_size: int = 4
    vision_width: int = 128
    vision_layers: int = 6
    vision_heads: int = 4
    text_width: int = 128
    text_layers: int = 3
    text_heads: int = 4
    projection_dim: int = 128
    max_text_tokens: int = 24
    vocab_size: int = 512


TINY = ModelSize(image_size=32, patch_size=8, vision_width=32, vision_layers=2, vision_heads=2,
                 text_width=32, text_layers=2, text_heads=2, projection_dim=16,
                 max_text_tokens=64, vocab_size=300)


def build_tokenizer(corpus: Iterable[str], vocab_size: int) -> CLIPTokenizer:
    """
    Learn a byte-level BPE vocabulary from ``corpus``, in CLIP's tokenizer format.

    Uses CLIP's own normalisation and pre-tokenisation, so ``CLIPTokenizer`` reproduces it
    from vocab and merges. Every byte, alone and as a word end, is in the vocabulary: a
    word never seen in training still tokenises (into pieces) instead of becoming unknown.
    """
    tokenizer = Tokenizer(models.BPE(end_of_word_suffix='</w>', unk_token=EOS))
    tokenizer.normalizer = normalizers.Sequence([normalizers.NFC(), normalizers.Lowercase()])
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(pattern=CLIP_WORDS, behavior='removed', invert=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False)])
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[BOS, EOS],
                                  initial_alphabet=alphabet, end_of_word_suffix='</w>',
                                  show_progress=False)
    tokenizer.train_from_iterator(corpus, trainer)
    vocab = tokenizer.get_vocab()
    for char in sorted(alphabet):
        for piece in (char, char + '</w>'):
            vocab.setdefault(piece, len(vocab))
    # The trained model's merges, as (left, right) pairs (the JSON form is the stable API).
    merges = [tuple(m.split(' ')) if isinstance(m, str) else tuple(m)
              for m in json.loads(tokenizer.to_str())['model']['merges']]
    return CLIPTokenizer(vocab=vocab, merges=merges, model_max_length=64)


def build_clip(size: ModelSize, tokenizer: CLIPTokenizer, seed: int = 0
               ) -> tuple[CLIPModel, CLIPProcessor]:
    """Make a randomly initialised CLIPModel and a matching processor."""
    import torch

    torch.manual_seed(seed)
    config = CLIPConfig(
        text_config={'hidden_size': size.text_width, 'intermediate_size': 4 * size.text_width,
                     'num_hidden_layers': size.text_layers,
                     'num_attention_heads': size.text_heads, 'vocab_size': len(tokenizer),
                     'max_position_embeddings': size.max_text_tokens,
                     'bos_token_id': tokenizer.bos_token_id,
                     'eos_token_id': tokenizer.eos_token_id,
                     'pad_token_id': tokenizer.pad_token_id},
        vision_config={'hidden_size': size.vision_width,
                       'intermediate_size': 4 * size.vision_width,
                       'num_hidden_layers': size.vision_layers,
                       'num_attention_heads': size.vision_heads,
                       'image_size': size.image_size, 'patch_size': size.patch_size},
        projection_dim=size.projection_dim)
    tokenizer.model_max_length = size.max_text_tokens
    image_processor = image_processor_class()(
        size={'shortest_edge': size.image_size},
        crop_size={'height': size.image_size, 'width': size.image_size})
    return CLIPModel(config), CLIPProcessor(image_processor=image_processor, tokenizer=tokenizer)
