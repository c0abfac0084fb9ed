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
CLIP on the CPU with OpenVINO.

The encoder for an export that ``python -m clip_grounding_ros.export`` wrote into a model folder
(fp32, or int8 with static activation quantization calibrated by NNCF).

Imported only when :func:`.model.load_encoder` selects this
backend, so the ``openvino`` package is needed only where it runs.

An export is the model folder's ``openvino/`` subfolder:

- ``manifest.json``: format version, source model, the SHA-256 of the folder's weight
  files it was made from, the model's constants (image and patch size, embedding size,
  context length, logit scale, normalisation), the precision, file names, the calibration
  and the agreement with torch fp32 measured at export;
- ``image_<precision>.xml/.bin``: the image tower; input ``pixel_values`` f32
  (N, 3, H, W), normalised, N, H and W dynamic (H and W multiples of the patch size; the
  position embeddings are interpolated in the graph as transformers does, so any frame
  size runs); outputs ``image_embeds`` (N, D) and ``patch_embeds`` (N, H/p * W/p, D), the
  global and MaskCLIP features of :func:`.model.maskclip_features`, not normalised;
- ``text_fp32.xml/.bin``: the text tower; inputs ``input_ids`` and ``attention_mask`` i64
  (N, L), L up to the context length; output ``text_embeds`` (N, D), not normalised.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import openvino as ov
import torch

from .encoder import (
    ClipEncoderBase,
    EXPORT_MANIFEST,
    load_tokenizer,
    load_vocabulary,
    loading_errors,
    ModelLoadError,
    OPENVINO_DIR,
)

EXPORT_FORMAT = 1
# Precision of the operations left in floating point (all of them in an fp32 export).
# OpenVINO would pick bf16 on CPUs that have it; f32 keeps results equal on every robot
# CPU and to what the export's agreement check measured.
INFERENCE_PRECISION = 'f32'
IMAGE_INPUT = 'pixel_values'
IMAGE_OUTPUTS = ('image_embeds', 'patch_embeds')
TEXT_INPUTS = ('input_ids', 'attention_mask')
TEXT_OUTPUT = 'text_embeds'
WEIGHT_SUFFIXES = ('.safetensors', '.bin')


def weights_sha256(folder: Path) -> str:
    """
    Hash the names and contents of the model folder's weight files with SHA-256.

    The weight files are *.safetensors, *.bin directly in it; reads them whole (about 1 s for
    ViT-B/32's 600 MB).
    """
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.iterdir()
                       if p.suffix in WEIGHT_SUFFIXES and p.is_file()):
        digest.update(path.name.encode())
        with path.open('rb') as stream:
            while chunk := stream.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()


def read_manifest(export_dir: Path) -> dict:
    """
    Read the manifest of an export folder (``<model>/openvino``).

    OSError or ValueError when it cannot be read or is not an export of this format.
    """
    manifest = json.loads((export_dir / EXPORT_MANIFEST).read_text())
    if not isinstance(manifest, dict) or manifest.get('format') != EXPORT_FORMAT:
        raise ValueError(f'not an export of format {EXPORT_FORMAT}')
    return manifest


def export_problem(folder: Path) -> str | None:
    """
    Tell why the OpenVINO export of model folder ``folder`` cannot be used, or None.

    Reasons: no or an unreadable manifest, or made from other weights than the folder holds now
    (this reads the weights: :func:`weights_sha256`).
    """
    try:
        manifest = read_manifest(folder / OPENVINO_DIR)
    except (OSError, ValueError) as error:
        return f'{folder / OPENVINO_DIR / EXPORT_MANIFEST} cannot be used ({error})'
    if manifest.get('weights_sha256') != weights_sha256(folder):
        return ('it was made from other weights than the folder holds now (retrained or '
                f'replaced since): {_export_again(folder)}')
    return None


def _export_again(folder: Path) -> str:
    return (f'export again with\n  python -m clip_grounding_ros.export {folder} --out {folder} '
            "[--int8 --calibration ...]\nor use backend 'torch'")


def load_openvino_encoder(folder: Path, text_cache_size: int = 256) -> OpenVINOClipEncoder:
    """
    Load the encoder of model folder ``folder``'s OpenVINO export.

    With the folder's tokenizer and vocabulary. :class:`ModelLoadError` when the export is missing,
    stale (see :func:`export_problem`) or unreadable.
    """
    problem = export_problem(folder)
    if problem:
        raise ModelLoadError(f"the OpenVINO export of '{folder}' cannot be used: {problem}")
    with loading_errors(str(folder), _export_again(folder)):
        tokenizer = load_tokenizer(str(folder))
        return OpenVINOClipEncoder(folder / OPENVINO_DIR, tokenizer, text_cache_size,
                                   load_vocabulary(folder))


class OpenVINOClipEncoder(ClipEncoderBase):
    """
    An OpenVINO export of a CLIP model behind the ImageTextEncoder protocol.

    The protocol is :class:`.encoder.ImageTextEncoder` (backend 'openvino fp32' or
    'openvino int8'); CPU only, returns CPU tensors.

    Pre-processing, the text cache and the length check are
    :class:`.encoder.ClipEncoderBase`'s, as for torch. Three compiled
    models share the IR: crops (batch dynamic, ``image_size`` square, the global output
    only), the dense pass (any frame size, both outputs) and the text tower. They use
    ``threads`` CPU threads (default: torch's current ``torch.get_num_threads()``).
    """

    def __init__(self, export_dir: Path, tokenizer, text_cache_size: int = 256,
                 vocabulary: frozenset[str] | None = None, threads: int | None = None):
        manifest = read_manifest(export_dir)
        super().__init__(
            tokenizer, context_length=int(manifest['context_length']),
            image_size=int(manifest['image_size']), patch_size=int(manifest['patch_size']),
            logit_scale=float(manifest['logit_scale']), image_mean=manifest['image_mean'],
            image_std=manifest['image_std'], device=torch.device('cpu'), dtype=torch.float32,
            backend=f"openvino {manifest['precision']}", text_cache_size=text_cache_size,
            vocabulary=vocabulary)
        self.manifest = manifest
        core = ov.Core()
        config = {'INFERENCE_PRECISION_HINT': INFERENCE_PRECISION,
                  'INFERENCE_NUM_THREADS': threads or torch.get_num_threads()}
        image = core.read_model(export_dir / manifest['files']['image'])
        crops = image.clone()
        crops.remove_result(crops.output(IMAGE_OUTPUTS[1]).get_node())
        crops.reshape({IMAGE_INPUT: ov.PartialShape([-1, 3, self.image_size, self.image_size])})
        self._crops = core.compile_model(crops, 'CPU', config)
        self._dense = core.compile_model(image, 'CPU', config)
        self._text = core.compile_model(core.read_model(export_dir / manifest['files']['text']),
                                        'CPU', config)

    def _text_features(self, tokens: dict[str, torch.Tensor]) -> torch.Tensor:
        result = _infer(self._text, {name: tokens[name].numpy() for name in TEXT_INPUTS})
        return torch.from_numpy(result[TEXT_OUTPUT])

    def _image_features(self, pixels: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(_infer(self._crops, {IMAGE_INPUT: pixels.numpy()})
                                [IMAGE_OUTPUTS[0]])

    def _dense_features(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        result = _infer(self._dense, {IMAGE_INPUT: pixels.numpy()})
        return (torch.from_numpy(result[IMAGE_OUTPUTS[1]][0]),
                torch.from_numpy(result[IMAGE_OUTPUTS[0]][0]))


def _infer(compiled: ov.CompiledModel, inputs: dict) -> dict:
    """
    Run one inference on a request of its own, so that threads may share the encoder.

    They share it as they share a torch model (a compiled model's own request serves one caller at
    a time); the outputs are copies.
    """
    return compiled.create_infer_request().infer(inputs)
