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
Loading a CLIP model, and the torch backend.

:func:`load_encoder` loads a model folder or a hub id and returns an
:class:`.encoder.ImageTextEncoder`: :class:`HFClipEncoder` (transformers' CLIP classes run by
torch) or the OpenVINO export's encoder (:mod:`.openvino_encoder`), and says which one it
picks. Every failure is one :class:`.encoder.ModelLoadError` that says what to do.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
import socket
from urllib.parse import urlparse
import warnings

import torch

from .encoder import (
    Backend,
    ClipEncoderBase,
    DEFAULT_HUB_MODEL,
    EXPORT_MANIFEST,
    ImageTextEncoder,
    load_tokenizer,
    load_vocabulary,
    loading_errors,
    ModelLoadError,
    offline_help,
    OPENVINO_DIR,
)

HUB_PROBE_TIMEOUT_S = 3.0


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


def load_encoder(model: str = DEFAULT_HUB_MODEL, device: str = 'auto',
                 half: bool | None = None, allow_download: bool = True,
                 text_cache_size: int = 256,
                 backend: Backend | str = Backend.AUTO) -> ImageTextEncoder:
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
    try:
        backend = Backend(backend)
    except ValueError:
        raise ModelLoadError(f"unknown backend '{backend}': use "
                             f"{', '.join(b.value for b in Backend)}") from None
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
                f'preprocessor files).\n{offline_help(DEFAULT_HUB_MODEL)}')
    if backend == Backend.OPENVINO:
        return _load_openvino(model, folder, torch_device, use_half, text_cache_size)
    if backend == Backend.AUTO and _openvino_candidate(folder, torch_device, use_half):
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
                    f'are disabled (allow_download is false).\n{offline_help(model)}')
            if not _hub_reachable():
                raise ModelLoadError(
                    f"model '{model}' is not in the local Hugging Face cache and the hub "
                    f'cannot be reached from this machine.\n{offline_help(model)}')
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


def as_features(features) -> torch.Tensor:
    """
    Return the features tensor of a get_*_features result.

    transformers 5 returns an output object from get_*_features in some paths.
    """
    return features if isinstance(features, torch.Tensor) else features.pooler_output
