"""Loading a CLIP-family model and encoding text and images into its shared space.

The rest of the package talks to an :class:`ImageTextEncoder` only, so another
CLIP-family model (SigLIP, a distilled CLIP, ...) can be added by implementing that
protocol; :class:`HFClipEncoder` implements it with transformers' CLIP classes.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections import OrderedDict
from pathlib import Path
from typing import Protocol
from collections.abc import Sequence
from urllib.parse import urlparse

import cv2
import numpy as np
import torch

DEFAULT_HUB_MODEL = 'openai/clip-vit-base-patch32'
# Optional file in a model folder: the words a closed-vocabulary model was trained on.
VOCABULARY_FILE = 'vocabulary.json'
HUB_PROBE_TIMEOUT_S = 3.0


class ModelLoadError(RuntimeError):
    """The model could not be loaded; the message says how to provide it."""


class ImageTextEncoder(Protocol):
    """What grounding and classification need from a vision-language model."""

    image_size: int
    patch_size: int
    logit_scale: float
    vocabulary: frozenset[str] | None  # None: open vocabulary (CLIP proper)

    def encode_text(self, phrases: Sequence[str]) -> torch.Tensor:
        """Unit-norm embeddings, one row per phrase (cached per phrase)."""

    def encode_images(self, images: Sequence[np.ndarray]) -> torch.Tensor:
        """Unit-norm embeddings of RGB uint8 images, one row per image."""

    def encode_dense(self, image: np.ndarray,
                     short_side: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-patch embeddings (rows, cols, dim) and the global embedding, in one pass."""


def resolve_device(device: str) -> torch.device:
    """Map the ``device`` parameter (auto|cpu|cuda|cuda:N) to a torch device."""
    if device == 'auto':
        return torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    if device == 'cpu':
        return torch.device('cpu')
    if device.startswith('cuda'):
        if not torch.cuda.is_available():
            raise ModelLoadError(
                f"device '{device}' requested but CUDA is not available on this machine; "
                "use device 'cpu' or 'auto'")
        return torch.device(device)
    raise ModelLoadError(f"unknown device '{device}': use auto, cpu, cuda or cuda:N")


def _looks_like_path(model: str) -> bool:
    """Hub ids are 'name' or 'org/name'; anything else that names a folder is a path."""
    return (model.startswith(('/', '.', '~')) or model.count('/') > 1
            or Path(model).expanduser().exists())


def _hub_reachable() -> bool:
    """Quick TCP probe of the Hugging Face endpoint.

    transformers retries an unreachable hub for ~25 s with back-off; probing first turns an
    offline start-up into an immediate, explained failure instead of a silent wait.
    """
    if os.environ.get('HF_HUB_OFFLINE', '0') not in ('0', '', 'false', 'False'):
        return False
    url = urlparse(os.environ.get('HF_ENDPOINT', 'https://huggingface.co'))
    try:
        with socket.create_connection(
                (url.hostname, url.port or 443), timeout=HUB_PROBE_TIMEOUT_S):
            return True
    except OSError:
        return False


def _offline_help(model: str) -> str:
    return (
        f"To run offline, download the weights once on a machine with internet:\n"
        f"  python -c \"from transformers import CLIPModel, CLIPProcessor; "
        f"CLIPModel.from_pretrained('{model}').save_pretrained('clip_model'); "
        f"CLIPProcessor.from_pretrained('{model}').save_pretrained('clip_model')\"\n"
        f"then copy the 'clip_model' folder to the robot and set the 'model' parameter to "
        f"its absolute path.")


def load_encoder(model: str = DEFAULT_HUB_MODEL, device: str = 'auto',
                 half: bool | None = None, allow_download: bool = True,
                 text_cache_size: int = 256) -> HFClipEncoder:
    """Load a CLIP model from a local folder (never touches the network) or a hub id.

    A hub id is looked up in the local Hugging Face cache first; it is downloaded only when
    ``allow_download`` is set and the hub answers. Every failure raises
    :class:`ModelLoadError` with one message that says how to provide the weights.
    ``half`` defaults to fp16 on CUDA and fp32 on the CPU.
    """
    from transformers import CLIPModel, CLIPTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # progress bars would flood the node logs
    if not model or not model.strip():
        raise ModelLoadError("the 'model' parameter is empty: give a hub id such as "
                             f"'{DEFAULT_HUB_MODEL}' or the path of a local model folder")
    torch_device = resolve_device(device)
    use_half = torch_device.type == 'cuda' if half is None else half
    if use_half and torch_device.type != 'cuda':
        raise ModelLoadError('fp16 is only supported on CUDA devices; set half to false')
    dtype = torch.float16 if use_half else torch.float32

    if _looks_like_path(model):
        folder = Path(model).expanduser()
        if not (folder / 'config.json').is_file():
            raise ModelLoadError(
                f"model folder '{folder}' not found or has no config.json; it must hold a "
                "model saved with save_pretrained() (config.json, weights, tokenizer and "
                f"preprocessor files).\n{_offline_help(DEFAULT_HUB_MODEL)}")
        source, local_only = str(folder), True
    else:
        source, local_only = model, True
        try:
            from huggingface_hub import try_to_load_from_cache
            cached = isinstance(try_to_load_from_cache(model, 'config.json'), str)
        except Exception:  # noqa: BLE001 - any cache lookup failure means "not cached"
            cached = False
        if not cached:
            if not allow_download:
                raise ModelLoadError(
                    f"model '{model}' is not in the local Hugging Face cache and downloads "
                    f"are disabled (allow_download is false).\n{_offline_help(model)}")
            if not _hub_reachable():
                raise ModelLoadError(
                    f"model '{model}' is not in the local Hugging Face cache and the hub "
                    f"cannot be reached from this machine.\n{_offline_help(model)}")
            local_only = False
    try:
        clip = CLIPModel.from_pretrained(source, local_files_only=local_only, dtype=dtype)
        tokenizer = CLIPTokenizer.from_pretrained(source, local_files_only=local_only)
        image_processor = image_processor_class().from_pretrained(
            source, local_files_only=local_only)
    except (OSError, ValueError, KeyError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelLoadError(
            f"could not load a CLIP model from '{model}': {first_line}\n"
            f"{_offline_help(DEFAULT_HUB_MODEL)}") from None
    vocabulary_path = Path(source) / VOCABULARY_FILE
    vocabulary = (frozenset(json.loads(vocabulary_path.read_text()))
                  if local_only and vocabulary_path.is_file() else None)
    return HFClipEncoder(clip, tokenizer, image_processor, torch_device,
                         text_cache_size=text_cache_size, vocabulary=vocabulary)


def image_processor_class():
    """The PIL image processor: only its normalisation constants are used, and the default
    class warns at every load that torchvision (deliberately not installed) is missing."""
    try:
        from transformers import CLIPImageProcessorPil
        return CLIPImageProcessorPil
    except ImportError:  # transformers before 5 has only the one class
        from transformers import CLIPImageProcessor
        return CLIPImageProcessor


class HFClipEncoder:
    """A transformers ``CLIPModel`` behind the :class:`ImageTextEncoder` protocol."""

    def __init__(self, model, tokenizer, image_processor, device: torch.device,
                 text_cache_size: int = 256, vocabulary: frozenset[str] | None = None):
        self.model = model.to(device).eval()
        self.vocabulary = vocabulary
        self.tokenizer = tokenizer
        self.device = device
        self.dtype = next(self.model.parameters()).dtype
        vision = self.model.config.vision_config
        self.image_size = int(vision.image_size)
        self.patch_size = int(vision.patch_size)
        self.logit_scale = float(self.model.logit_scale.exp().item())
        self._mean = torch.tensor(image_processor.image_mean, device=device).view(1, 3, 1, 1)
        self._std = torch.tensor(image_processor.image_std, device=device).view(1, 3, 1, 1)
        self._text_cache: OrderedDict[str, torch.Tensor] = OrderedDict()
        self._text_cache_size = text_cache_size
        self.text_cache_hits = 0
        self.text_cache_misses = 0

    # -- text ---------------------------------------------------------------------------
    @torch.inference_mode()
    def encode_text(self, phrases: Sequence[str]) -> torch.Tensor:
        """Unit-norm text embeddings (N, D) in fp32; each distinct phrase is encoded once."""
        if len(phrases) == 0:
            raise ValueError('encode_text needs at least one phrase')
        missing = [p for p in dict.fromkeys(phrases) if p not in self._text_cache]
        self.text_cache_hits += len(phrases) - len(missing)
        self.text_cache_misses += len(missing)
        if missing:
            tokens = self.tokenizer(missing, padding=True, truncation=True, return_tensors='pt')
            tokens = {k: v.to(self.device) for k, v in tokens.items()}
            features = as_features(self.model.get_text_features(**tokens))
            for phrase, row in zip(missing, _normalise(features.float()), strict=True):
                self._text_cache[phrase] = row
        while len(self._text_cache) > self._text_cache_size:
            self._text_cache.popitem(last=False)
        for phrase in phrases:
            self._text_cache.move_to_end(phrase)
        return torch.stack([self._text_cache[p] for p in phrases])

    # -- images -------------------------------------------------------------------------
    def _pixels(self, batch: np.ndarray) -> torch.Tensor:
        """uint8 (N, H, W, 3) -> normalised float pixels on the model's device."""
        pixels = torch.from_numpy(batch).to(self.device).permute(0, 3, 1, 2).float() / 255.0
        return ((pixels - self._mean) / self._std).to(self.dtype)

    @torch.inference_mode()
    def encode_images(self, images: Sequence[np.ndarray], batch_size: int = 32) -> torch.Tensor:
        """Unit-norm embeddings (N, D) of RGB uint8 images.

        Each image gets CLIP's standard transform (shortest side to ``image_size``, centre
        crop). Done with OpenCV on the whole batch rather than the transformers image
        processor, whose per-image PIL path costs ~2x more per crop here.
        """
        if len(images) == 0:
            raise ValueError('encode_images needs at least one image')
        square = np.stack([center_square(img, self.image_size) for img in images])
        rows = []
        for start in range(0, len(square), batch_size):
            pixels = self._pixels(square[start:start + batch_size])
            rows.append(as_features(self.model.get_image_features(pixel_values=pixels)))
        return _normalise(torch.cat(rows).float())

    @torch.inference_mode()
    def encode_dense(self, image: np.ndarray,
                     short_side: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-patch embeddings (rows, cols, D) and the global embedding (D,), one pass.

        MaskCLIP-style: the patch tokens entering the last transformer block are passed
        through that block's value and output projections only (no query-key attention, no
        residual, no MLP), then the post-layernorm and the visual projection, which puts each
        patch in the text embedding space. The image keeps its aspect ratio (position
        embeddings are interpolated), so a 640x480 frame is one pass of roughly one crop's cost.
        """
        short_side = short_side or self.image_size
        height, width = image.shape[:2]
        scale = short_side / min(height, width)
        out_w = max(self.patch_size, round(width * scale / self.patch_size) * self.patch_size)
        out_h = max(self.patch_size, round(height * scale / self.patch_size) * self.patch_size)
        resized = cv2.resize(image, (out_w, out_h), interpolation=cv2.INTER_AREA)
        pixels = self._pixels(resized[None])
        vision = self.model.vision_model
        out = vision(pixel_values=pixels, output_hidden_states=True,
                     interpolate_pos_encoding=True)
        last = vision.encoder.layers[-1]
        values = last.self_attn.out_proj(last.self_attn.v_proj(
            last.layer_norm1(out.hidden_states[-2][:, 1:])))
        patches = self.model.visual_projection(vision.post_layernorm(values))[0]
        global_embedding = self.model.visual_projection(out.pooler_output)[0]
        grid = patches.float().reshape(out_h // self.patch_size, out_w // self.patch_size, -1)
        return _normalise(grid), _normalise(global_embedding.float())


def center_square(image: np.ndarray, size: int) -> np.ndarray:
    """CLIP's standard view: shortest side resized to ``size``, then a centred square crop."""
    height, width = image.shape[:2]
    scale = size / min(height, width)
    new_w, new_h = max(size, round(width * scale)), max(size, round(height * scale))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    resized = cv2.resize(image, (new_w, new_h), interpolation=interpolation)
    top, left = (new_h - size) // 2, (new_w - size) // 2
    return resized[top:top + size, left:left + size]


def as_features(features) -> torch.Tensor:
    """transformers 5 returns an output object from get_*_features in some paths."""
    return features if isinstance(features, torch.Tensor) else features.pooler_output


def _normalise(features: torch.Tensor) -> torch.Tensor:
    return features / features.norm(dim=-1, keepdim=True).clamp_min(1e-12)


def timed_ms(start: float) -> float:
    """Milliseconds since ``start`` (a ``time.perf_counter()`` value)."""
    return (time.perf_counter() - start) * 1000.0
