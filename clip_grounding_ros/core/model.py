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
Loading a CLIP-family model and encoding text and images into its shared space.

The rest of the package talks to an :class:`ImageTextEncoder` only, so another
CLIP-family model (SigLIP, a distilled CLIP, ...) or another inference runtime can be added
by implementing that protocol. :class:`ClipEncoderBase` holds what every CLIP backend
shares (the phrase cache, the token-length check, CLIP's image pre-processing and unit-norm
outputs); :class:`HFClipEncoder` runs transformers' CLIP classes with torch, and
``openvino_encoder.OpenVINOClipEncoder`` runs an export of them with OpenVINO on the CPU
(:func:`load_encoder` says which one it picks).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
import importlib.util
import json
import os
from pathlib import Path
import socket
import threading
import time
from typing import Protocol
from urllib.parse import urlparse
import warnings

import cv2
import numpy as np
import torch

DEFAULT_HUB_MODEL = 'openai/clip-vit-base-patch32'
# Optional file in a model folder: the words a closed-vocabulary model was trained on.
VOCABULARY_FILE = 'vocabulary.json'
HUB_PROBE_TIMEOUT_S = 3.0
BACKENDS = ('auto', 'torch', 'openvino')
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
    """
    Quick TCP probe of the Hugging Face endpoint.

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
        f'To run offline, download the weights once on a machine with internet:\n'
        f'  python -c "from transformers import CLIPModel, CLIPProcessor; '
        f"CLIPModel.from_pretrained('{model}').save_pretrained('clip_model'); "
        f"CLIPProcessor.from_pretrained('{model}').save_pretrained('clip_model')\"\n"
        f"then copy the 'clip_model' folder to the robot and set the 'model' parameter to "
        f'its absolute path.')


def load_encoder(model: str = DEFAULT_HUB_MODEL, device: str = 'auto',
                 half: bool | None = None, allow_download: bool = True,
                 text_cache_size: int = 256, backend: str = 'auto') -> ImageTextEncoder:
    """
    Load a CLIP model from a local folder (never touches the network) or a hub id.

    A hub id is looked up in the local Hugging Face cache first; it is downloaded only when
    ``allow_download`` is set and the hub answers. ``half`` defaults to fp16 on CUDA and
    fp32 on the CPU.

    ``backend`` picks what runs the model:

    - ``'torch'``: transformers' ``CLIPModel`` with torch on ``device``
      (:class:`HFClipEncoder`).
    - ``'openvino'``: the OpenVINO export in the model folder's ``openvino/`` subfolder,
      written by ``python -m clip_grounding_ros.export`` (int8 when the export has it,
      else fp32), on the CPU with as many threads as torch uses when loading
      (``torch.set_num_threads`` first). Needs a local folder, a CPU device, no ``half``,
      the ``openvino`` package, and an export made from the folder's current weights.
    - ``'auto'`` (default): ``'openvino'`` when all of that holds, else ``'torch'``; so a
      CUDA device always runs torch, and a hub id or a folder without an export too. An
      export that cannot be used (made from other weights: the folder was retrained or
      replaced since; damaged files) is skipped with a warning saying why.

    The encoder's ``backend`` attribute says which one runs ('torch fp32', 'openvino int8').
    Every failure raises :class:`ModelLoadError` with one message that says what is wrong
    and how to fix it: a missing folder or hub id, files that cannot be read (truncated
    weights, a config.json that is not JSON), a checkpoint that is not a full CLIP model
    (vision- or text-only), weights that do not fit the architecture (stored under a
    wrapper prefix such as 'model.', another model size), a backend that cannot run here.
    """
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # progress bars would flood the node logs
    if not model or not model.strip():
        raise ModelLoadError("the 'model' parameter is empty: give a hub id such as "
                             f"'{DEFAULT_HUB_MODEL}' or the path of a local model folder")
    if backend not in BACKENDS:
        raise ModelLoadError(f"unknown backend '{backend}': use {', '.join(BACKENDS)}")
    torch_device = resolve_device(device)
    use_half = torch_device.type == 'cuda' if half is None else half
    if use_half and torch_device.type != 'cuda':
        raise ModelLoadError('fp16 is only supported on CUDA devices; set half to false')

    folder = None
    if _looks_like_path(model):
        folder = Path(model).expanduser()
        if not (folder / 'config.json').is_file():
            raise ModelLoadError(
                f"model folder '{folder}' not found or has no config.json; it must hold a "
                'model saved with save_pretrained() (config.json, weights, tokenizer and '
                f'preprocessor files).\n{_offline_help(DEFAULT_HUB_MODEL)}')
    if backend == 'openvino':
        return _load_openvino(model, folder, torch_device, use_half, text_cache_size)
    if backend == 'auto' and _openvino_candidate(folder, torch_device, use_half):
        try:
            return _load_openvino(model, folder, torch_device, use_half, text_cache_size)
        except ModelLoadError as error:
            warnings.warn(f'not using the OpenVINO export of {folder}: {error}\nrunning torch',
                          stacklevel=2)

    if folder is not None:
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
                    f'are disabled (allow_download is false).\n{_offline_help(model)}')
            if not _hub_reachable():
                raise ModelLoadError(
                    f"model '{model}' is not in the local Hugging Face cache and the hub "
                    f'cannot be reached from this machine.\n{_offline_help(model)}')
            local_only = False
    from transformers import CLIPModel

    with loading_errors(model):
        _check_model_type(model, source, local_only)
        clip, loading_info = CLIPModel.from_pretrained(
            source, local_files_only=local_only,
            dtype=torch.float16 if use_half else torch.float32,
            output_loading_info=True, ignore_mismatched_sizes=True)
        tokenizer = load_tokenizer(source, local_only)
        image_processor = image_processor_class().from_pretrained(
            source, local_files_only=local_only)
    problem = _weights_problem(loading_info)
    if problem:
        raise ModelLoadError(f"the weights of '{model}' do not fit its CLIP architecture: "
                             f'{problem}')
    return HFClipEncoder(clip, tokenizer, image_processor, torch_device,
                         text_cache_size=text_cache_size, vocabulary=load_vocabulary(folder))


def _openvino_candidate(folder: Path | None, device: torch.device, half: bool) -> bool:
    """
    Tell whether backend 'auto' tries the OpenVINO export.

    It does for a CPU device in fp32, a model folder with an export, and the openvino package
    installed (see :func:`load_encoder`).
    """
    return (device.type == 'cpu' and not half and folder is not None
            and (folder / OPENVINO_DIR / EXPORT_MANIFEST).is_file()
            and importlib.util.find_spec('openvino') is not None)


def _load_openvino(model: str, folder: Path | None, device: torch.device, half: bool,
                   text_cache_size: int) -> ImageTextEncoder:
    """Load the OpenVINO encoder of ``folder``'s export, or raise ModelLoadError saying why not."""
    export_command = (f'python -m clip_grounding_ros.export {model} --out {folder or "DIR"} '
                      '--int8 --calibration FOLDER_OF_CAMERA_FRAMES')
    if device.type != 'cpu' or half:
        raise ModelLoadError(f'the openvino backend runs on the CPU in fp32/int8 (device '
                             f"'{device}', half {half} requested): use device 'cpu' or "
                             "backend 'torch'")
    if folder is None:
        raise ModelLoadError(f'the openvino backend needs a model folder with an export, not '
                             f"the hub id '{model}': export it into a folder with\n  "
                             f'{export_command}\nand set the model to that folder')
    if not (folder / OPENVINO_DIR / EXPORT_MANIFEST).is_file():
        raise ModelLoadError(f"model folder '{folder}' has no OpenVINO export "
                             f'({OPENVINO_DIR}/{EXPORT_MANIFEST}): make one with\n  '
                             f"{export_command}\nor use backend 'torch'")
    if importlib.util.find_spec('openvino') is None:
        raise ModelLoadError("the openvino backend needs the 'openvino' Python package "
                             "(pip install openvino); or use backend 'torch'")
    from .openvino_encoder import load_openvino_encoder

    return load_openvino_encoder(folder, text_cache_size=text_cache_size)


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
            f'{hint or _offline_help(DEFAULT_HUB_MODEL)}') from None
    finally:
        hf_logging.set_verbosity(verbosity)


def _check_model_type(model: str, source: str, local_only: bool) -> None:
    """Raise ModelLoadError unless config.json describes a full CLIP model (both towers)."""
    from transformers import PretrainedConfig

    config, _ = PretrainedConfig.get_config_dict(source, local_files_only=local_only)
    model_type = config.get('model_type')
    if model_type == 'clip':
        return
    towers = {'clip_vision_model': 'a vision-only checkpoint (CLIPVisionModel, no text tower)',
              'clip_text_model': 'a text-only checkpoint (CLIPTextModel, no image tower)'}
    what = towers.get(model_type, f"a '{model_type}' model, not a CLIP model")
    raise ModelLoadError(f"'{model}' is {what} (config.json model_type '{model_type}'): "
                         'grounding needs a full CLIPModel with its image and text towers '
                         "(model_type 'clip')")


def _weights_problem(loading_info: dict) -> str | None:
    """
    Tell what is wrong with the checkpoint's weights, or None when all fit.

    The weights as transformers matched them to the model (``from_pretrained(...,
    output_loading_info=True)``).
    """
    missing = sorted(loading_info['missing_keys'])
    unexpected = sorted(loading_info['unexpected_keys'])
    mismatched = sorted(loading_info['mismatched_keys'])
    if not (missing or unexpected or mismatched):
        return None
    parts = []
    if missing:
        parts.append(f"{len(missing)} of the model's weights are missing from the checkpoint "
                     f'({_examples(missing)})')
    if unexpected:
        parts.append(f'{len(unexpected)} weights in the checkpoint belong to no part of the '
                     f'model ({_examples(unexpected)})')
    if mismatched:
        parts.append(f"{len(mismatched)} weights have another shape than the model's (" +
                     ', '.join(f'{key}: {tuple(saved)} in the checkpoint, {tuple(expected)} '
                               'in the model' for key, saved, expected in mismatched[:2]) +
                     (', ...' if len(mismatched) > 2 else '') + ')')
    return '; '.join(parts) + '. ' + _likely_cause(missing, unexpected, mismatched)


def _examples(keys: list[str], count: int = 3) -> str:
    return 'e.g. ' + ', '.join(f"'{k}'" for k in keys[:count]) + (
        ', ...' if len(keys) > count else '')


def _likely_cause(missing: list[str], unexpected: list[str], mismatched: list) -> str:
    """Name the usual reason for this pattern of missing, unexpected and mismatched keys."""
    prefixes = {key[:-len(m)] for key in unexpected for m in missing
                if key.endswith('.' + m)}
    if len(prefixes) == 1:
        prefix = prefixes.pop()
        return (f"They look like this model's weights under a '{prefix}' prefix (a training "
                "checkpoint's wrapper): load that checkpoint, and save the CLIPModel inside "
                'it with save_pretrained()')
    # A one-tower checkpoint lacks the other tower and the shared logit scale.
    in_towers = [k for k in missing if k != 'logit_scale']
    text = ('text_model.', 'text_projection')
    vision = ('vision_model.', 'visual_projection')
    if in_towers and not unexpected and all(k.startswith(text) for k in in_towers):
        return ('This is a vision-only checkpoint (the text tower is missing): grounding '
                'needs a full CLIPModel')
    if in_towers and not unexpected and all(k.startswith(vision) for k in in_towers):
        return ('This is a text-only checkpoint (the image tower is missing): grounding '
                'needs a full CLIPModel')
    if mismatched:
        return ('config.json does not describe these weights (another model size?): keep '
                'the config.json saved with them')
    return 'The checkpoint was not saved from this CLIP architecture with save_pretrained()'


def load_tokenizer(source: str, local_only: bool = True):
    """Load the CLIPTokenizer saved with the model (a folder or a hub id)."""
    from transformers import CLIPTokenizer

    return CLIPTokenizer.from_pretrained(source, local_files_only=local_only)


def load_vocabulary(folder: Path | None) -> frozenset[str] | None:
    """Load the words of a closed-vocabulary model folder (``vocabulary.json``), or None."""
    path = None if folder is None else folder / VOCABULARY_FILE
    return frozenset(json.loads(path.read_text())) if path and path.is_file() else None


def image_processor_class():
    """
    Return the PIL image processor class, quietened.

    Only its normalisation constants are used, and the default class warns at every load that
    torchvision (deliberately not installed) is missing.
    """
    try:
        from transformers import CLIPImageProcessorPil
        return CLIPImageProcessorPil
    except ImportError:  # transformers before 5 has only the one class
        from transformers import CLIPImageProcessor
        return CLIPImageProcessor


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


class HFClipEncoder(ClipEncoderBase):
    """
    A transformers ``CLIPModel`` run by torch, as an :class:`ImageTextEncoder`.

    Behind that protocol as backend 'torch fp32' or 'torch fp16'.
    """

    def __init__(self, model, tokenizer, image_processor, device: torch.device,
                 text_cache_size: int = 256, vocabulary: frozenset[str] | None = None):
        self.model = model.to(device).eval()
        dtype = next(self.model.parameters()).dtype
        vision = self.model.config.vision_config
        super().__init__(
            tokenizer, context_length=int(self.model.config.text_config.max_position_embeddings),
            image_size=int(vision.image_size), patch_size=int(vision.patch_size),
            logit_scale=float(self.model.logit_scale.exp().item()),
            image_mean=image_processor.image_mean, image_std=image_processor.image_std,
            device=device, dtype=dtype,
            backend=f"torch {'fp16' if dtype == torch.float16 else 'fp32'}",
            text_cache_size=text_cache_size, vocabulary=vocabulary)

    def _text_features(self, tokens: dict[str, torch.Tensor]) -> torch.Tensor:
        tokens = {k: v.to(self.device) for k, v in tokens.items()}
        return as_features(self.model.get_text_features(**tokens))

    def _image_features(self, pixels: torch.Tensor) -> torch.Tensor:
        return as_features(self.model.get_image_features(pixel_values=pixels))

    def _dense_features(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        global_features, patches = maskclip_features(self.model, pixels)
        return patches[0], global_features[0]


def maskclip_features(clip, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """
    Compute global image features and MaskCLIP patch features of a ``CLIPModel``.

    Global image features (N, D) and MaskCLIP patch features (N, rows * cols, D), not normalised,
    of a transformers ``CLIPModel`` on normalised pixels (N, 3, H, W) whose sides are multiples of
    the patch size (position embeddings are interpolated for sizes other than the model's).

    MaskCLIP (Zhou et al., "Extract Free Dense Labels from CLIP", ECCV 2022): the patch
    tokens entering the last transformer block are passed through that block's value and
    output projections only (no query-key attention, no residual, no MLP), then the
    post-layernorm and the visual projection, which puts each patch in the text embedding
    space. The global features are ``get_image_features``'. Shared by the torch backend and
    the export (``clip_grounding_ros.export``), so both compute the same graph.
    """
    vision = clip.vision_model
    out = vision(pixel_values=pixels, output_hidden_states=True, interpolate_pos_encoding=True)
    last = vision.encoder.layers[-1]
    values = last.self_attn.out_proj(last.self_attn.v_proj(
        last.layer_norm1(out.hidden_states[-2][:, 1:])))
    return (clip.visual_projection(out.pooler_output),
            clip.visual_projection(vision.post_layernorm(values)))


def center_square(image: np.ndarray, size: int) -> np.ndarray:
    """Make CLIP's standard view: shortest side resized to ``size``, then a centred square crop."""
    height, width = image.shape[:2]
    scale = size / min(height, width)
    new_w, new_h = max(size, round(width * scale)), max(size, round(height * scale))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    resized = cv2.resize(image, (new_w, new_h), interpolation=interpolation)
    top, left = (new_h - size) // 2, (new_w - size) // 2
    return resized[top:top + size, left:left + size]


def as_features(features) -> torch.Tensor:
    """
    Return the features tensor of a get_*_features result.

    transformers 5 returns an output object from get_*_features in some paths.
    """
    return features if isinstance(features, torch.Tensor) else features.pooler_output


def _normalise(features: torch.Tensor) -> torch.Tensor:
    return features / features.norm(dim=-1, keepdim=True).clamp_min(1e-12)


def timed_ms(start: float) -> float:
    """Milliseconds since ``start`` (a ``time.perf_counter()`` value)."""
    return (time.perf_counter() - start) * 1000.0
