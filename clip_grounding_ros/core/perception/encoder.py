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
The encoder protocol and what every CLIP backend shares.

The rest of the package talks to an :class:`ImageTextEncoder` only, so another CLIP-family
model (SigLIP, a distilled CLIP, ...) or another inference runtime can be added by
implementing that protocol. :class:`ClipEncoderBase` holds what every CLIP backend shares
(the phrase cache, the token-length check, CLIP's image pre-processing and unit-norm
outputs); the backends are ``model.HFClipEncoder`` (transformers and torch) and
``openvino_encoder.OpenVINOClipEncoder`` (an OpenVINO export on the CPU), loaded by
``model.load_encoder``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from enum import Enum
import json
from pathlib import Path
import threading
from typing import Protocol

import cv2
import numpy as np
import torch

# Optional file in a model folder: the words a closed-vocabulary model was trained on.
VOCABULARY_FILE = 'vocabulary.json'


class Backend(str, Enum):
    """What runs the model (the ``backend`` parameter)."""

    AUTO = 'auto'          # the OpenVINO export when it can run here, else torch
    TORCH = 'torch'        # transformers' CLIPModel with torch
    OPENVINO = 'openvino'  # the export in the model folder's openvino/, on the CPU

    def __str__(self) -> str:
        return self.value


# Where `python -m clip_grounding_ros.export` writes an OpenVINO export: this subfolder of
# the model folder, holding the manifest and the IR files it names.
OPENVINO_DIR = 'openvino'


EXPORT_MANIFEST = 'manifest.json'


class ModelLoadError(RuntimeError):
    """The model could not be loaded; the message says how to provide it."""


class TextTooLongError(ValueError):
    """A phrase has more tokens than the text encoder reads (it would be cut silently)."""


class ImageTextEncoder(Protocol):
    """What grounding and classification need from a vision-language model."""

    image_size: int
    patch_size: int
    logit_scale: float
    vocabulary: frozenset[str] | None  # None: open vocabulary (CLIP proper)
    device: torch.device  # where the returned tensors live
    backend: str  # what runs the model, for logs: 'torch fp32', 'openvino int8', ...

    def encode_text(self, phrases: Sequence[str]) -> torch.Tensor:
        """Unit-norm embeddings, one row per phrase (cached per phrase)."""

    def encode_images(self, images: Sequence[np.ndarray], batch_size: int = 32) -> torch.Tensor:
        """Unit-norm embeddings of RGB uint8 images, one row per image."""

    def encode_dense(self, image: np.ndarray,
                     short_side: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-patch embeddings (rows, cols, dim) and the global embedding, in one pass."""


@contextmanager
def loading_errors(model: str, hint: str | None = None) -> Iterator[None]:
    """
    Turn any failure inside into one :class:`ModelLoadError`.

    The error names ``model``, the failure's first line, and ``hint`` (default: how to get a model
    folder); every backend loads its files inside this.

    transformers' own load report (a warning table of missing keys) is silenced meanwhile:
    the error raised after the load says what it would, in one message.
    """
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        yield
    except ModelLoadError:
        raise
    except Exception as exc:  # noqa: BLE001 - no raw exception may escape load_encoder
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ''
        raise ModelLoadError(
            f"could not load a CLIP model from '{model}': {type(exc).__name__}: {first_line}\n"
            f'{hint or offline_help(DEFAULT_HUB_MODEL)}') from None
    finally:
        hf_logging.set_verbosity(verbosity)


def load_tokenizer(source: str, local_only: bool = True):
    """Load the CLIPTokenizer saved with the model (a folder or a hub id)."""
    from transformers import CLIPTokenizer

    return CLIPTokenizer.from_pretrained(source, local_files_only=local_only)


def load_vocabulary(folder: Path | None) -> frozenset[str] | None:
    """Load the words of a closed-vocabulary model folder (``vocabulary.json``), or None."""
    path = None if folder is None else folder / VOCABULARY_FILE
    return frozenset(json.loads(path.read_text())) if path and path.is_file() else None


class ClipEncoderBase(ABC):
    """
    What every CLIP backend shares, behind the :class:`ImageTextEncoder` protocol.

    Text: each distinct phrase is tokenised, checked against the context length
    (:class:`TextTooLongError`) and encoded once (an LRU cache of ``text_cache_size``
    phrases). Images: CLIP's standard view of each image (:func:`center_square`) or, for the
    dense pass, the whole frame resized with its aspect ratio (:meth:`dense_pixels`), then
    normalised with the model's mean and standard deviation. Outputs are unit-norm fp32.

    A backend implements the three feature methods on these prepared inputs; their outputs
    need not be normalised.
    """

    def __init__(self, tokenizer, *, context_length: int, image_size: int, patch_size: int,
                 logit_scale: float, image_mean: Sequence[float], image_std: Sequence[float],
                 device: torch.device, dtype: torch.dtype, backend: str,
                 text_cache_size: int = 256, vocabulary: frozenset[str] | None = None):
        self.tokenizer = tokenizer
        self.context_length = context_length
        self.image_size = image_size
        self.patch_size = patch_size
        self.logit_scale = logit_scale
        self.device = device
        self.dtype = dtype  # of the pixels fed to the model
        self.backend = backend
        self.vocabulary = vocabulary
        self.image_mean = tuple(image_mean)  # per RGB channel, of pixels scaled to [0, 1]
        self.image_std = tuple(image_std)
        self._mean = torch.tensor(image_mean, device=device).view(1, 3, 1, 1)
        self._std = torch.tensor(image_std, device=device).view(1, 3, 1, 1)
        self._text_cache: OrderedDict[str, torch.Tensor] = OrderedDict()
        self._text_cache_size = text_cache_size
        self._text_lock = threading.Lock()  # a node encodes commands while a worker grounds
        self.text_cache_hits = 0
        self.text_cache_misses = 0

    @abstractmethod
    def _text_features(self, tokens: dict[str, torch.Tensor]) -> torch.Tensor:
        """
        Return the (N, D) features of tokenized phrases.

        From the tokenizer's int64 (N, L) 'input_ids' and 'attention_mask' (CPU tensors, padded to
        the longest phrase).
        """

    @abstractmethod
    def _image_features(self, pixels: torch.Tensor) -> torch.Tensor:
        """(N, D) features of normalised pixels (N, 3, image_size, image_size)."""

    @abstractmethod
    def _dense_features(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """
        Return the patch features (rows * cols, D) and global features (D,) of one image.

        MaskCLIP patch features, row-major, of normalised pixels (1, 3, rows * patch_size, cols *
        patch_size).
        """

    # -- text ---------------------------------------------------------------------------
    @torch.inference_mode()
    def encode_text(self, phrases: Sequence[str]) -> torch.Tensor:
        """
        Unit-norm text embeddings (N, D) in fp32; each distinct phrase is encoded once.

        Raises ValueError for no phrase, and :class:`TextTooLongError` (before encoding
        anything) when a phrase has more tokens than the text encoder reads, start and end
        tokens included: CLIP would silently drop the rest.
        """
        if len(phrases) == 0:
            raise ValueError('encode_text needs at least one phrase')
        with self._text_lock:
            return self._encode_text(phrases)

    def _encode_text(self, phrases: Sequence[str]) -> torch.Tensor:
        missing = [p for p in dict.fromkeys(phrases) if p not in self._text_cache]
        if missing:
            # verbose=False: the length is checked here, with a clearer message.
            tokens = self.tokenizer(missing, padding=True, return_tensors='pt', verbose=False)
            for phrase, count in zip(missing, tokens['attention_mask'].sum(dim=1).tolist(),
                                     strict=True):
                if count > self.context_length:
                    raise TextTooLongError(
                        f"'{phrase}' is {count} tokens long, but this model's text encoder "
                        f'reads at most {self.context_length} tokens (start and end tokens '
                        'included) and would ignore the rest: shorten the phrase')
            features = self._text_features(
                {'input_ids': tokens['input_ids'], 'attention_mask': tokens['attention_mask']})
            for phrase, row in zip(missing, _normalise(features.float()), strict=True):
                self._text_cache[phrase] = row
        self.text_cache_hits += len(phrases) - len(missing)
        self.text_cache_misses += len(missing)
        while len(self._text_cache) > self._text_cache_size:
            self._text_cache.popitem(last=False)
        for phrase in phrases:
            self._text_cache.move_to_end(phrase)
        return torch.stack([self._text_cache[p] for p in phrases])

    # -- images -------------------------------------------------------------------------
    def _pixels(self, batch: np.ndarray) -> torch.Tensor:
        """uint8 (N, H, W, 3) -> normalised float pixels (N, 3, H, W) on the model's device."""
        pixels = torch.from_numpy(batch).to(self.device).permute(0, 3, 1, 2).float() / 255.0
        return ((pixels - self._mean) / self._std).to(self.dtype)

    def image_pixels(self, images: Sequence[np.ndarray]) -> torch.Tensor:
        """
        Prepare the model's input for RGB uint8 images: CLIP's standard view of each.

        Shortest side to ``image_size``, centre crop, normalised: (N, 3, image_size, image_size) in
        ``dtype`` on ``device``.

        Done with OpenCV on the whole batch rather than the transformers image processor,
        whose per-image PIL path costs ~2x more per crop here.
        """
        return self._pixels(np.stack([center_square(img, self.image_size) for img in images]))

    def dense_pixels(self, image: np.ndarray, short_side: int | None = None) -> torch.Tensor:
        """
        Prepare the dense pass' input for an RGB uint8 image.

        Resized (INTER_AREA) so that its short side is about ``short_side`` px (default
        ``image_size``) and both sides are multiples of ``patch_size`` (the aspect ratio kept),
        normalised, (1, 3, H, W).
        """
        short_side = short_side or self.image_size
        height, width = image.shape[:2]
        scale = short_side / min(height, width)
        out_w = max(self.patch_size, round(width * scale / self.patch_size) * self.patch_size)
        out_h = max(self.patch_size, round(height * scale / self.patch_size) * self.patch_size)
        return self._pixels(cv2.resize(image, (out_w, out_h), interpolation=cv2.INTER_AREA)[None])

    @torch.inference_mode()
    def encode_images(self, images: Sequence[np.ndarray], batch_size: int = 32) -> torch.Tensor:
        """
        Encode RGB uint8 images (any sizes) to unit-norm embeddings (N, D) in fp32.

        Encoded in batches of ``batch_size`` (:meth:`image_pixels` says how each is prepared).
        ValueError for no image.
        """
        if len(images) == 0:
            raise ValueError('encode_images needs at least one image')
        rows = [self._image_features(self.image_pixels(images[start:start + batch_size]))
                for start in range(0, len(images), batch_size)]
        return _normalise(torch.cat(rows).float())

    @torch.inference_mode()
    def encode_dense(self, image: np.ndarray,
                     short_side: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """
        Encode one RGB uint8 image to per-patch and global embeddings in one pass.

        Per-patch embeddings (rows, cols, D) and the global embedding (D,), unit-norm fp32
        (:func:`maskclip_features`).

        The image keeps its aspect ratio (:meth:`dense_pixels`; position embeddings are
        interpolated), so a 640x480 frame is one pass of roughly one crop's cost.
        """
        pixels = self.dense_pixels(image, short_side)
        patches, global_embedding = self._dense_features(pixels)
        rows, cols = pixels.shape[2] // self.patch_size, pixels.shape[3] // self.patch_size
        return (_normalise(patches.float().reshape(rows, cols, -1)),
                _normalise(global_embedding.float()))


def center_square(image: np.ndarray, size: int) -> np.ndarray:
    """Make CLIP's standard view: shortest side resized to ``size``, then a centred square crop."""
    height, width = image.shape[:2]
    scale = size / min(height, width)
    new_w, new_h = max(size, round(width * scale)), max(size, round(height * scale))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    resized = cv2.resize(image, (new_w, new_h), interpolation=interpolation)
    top, left = (new_h - size) // 2, (new_w - size) // 2
    return resized[top:top + size, left:left + size]


def _normalise(features: torch.Tensor) -> torch.Tensor:
    return features / features.norm(dim=-1, keepdim=True).clamp_min(1e-12)


DEFAULT_HUB_MODEL = 'openai/clip-vit-base-patch32'


def offline_help(model: str) -> str:
    return (
        f'To run offline, download the weights once on a machine with internet:\n'
        f'  python -c "from transformers import CLIPModel, CLIPProcessor; '
        f"CLIPModel.from_pretrained('{model}').save_pretrained('clip_model'); "
        f"CLIPProcessor.from_pretrained('{model}').save_pretrained('clip_model')\"\n"
        f"then copy the 'clip_model' folder to the robot and set the 'model' parameter to "
        f'its absolute path.')
