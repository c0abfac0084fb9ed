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
The OpenVINO backend: export, agreement check and backend selection.

The OpenVINO backend: export (fp32, int8 calibrated on a folder or on simulator renders),
the agreement check that refuses a bad export, backend selection in load_encoder, and
agreement of every encode_* with torch, on the tiny random-weight CLIP.

Random weights: these tests check plumbing and numerical agreement, not semantics.
"""

import json
import shutil
import subprocess
import sys

from clip_grounding_ros.core.perception.encoder import (
    EXPORT_MANIFEST,
    ModelLoadError,
    OPENVINO_DIR,
    TextTooLongError,
)
from clip_grounding_ros.core.perception.model import _openvino_candidate, load_encoder
from clip_grounding_ros.export import export, ExportError, main
import cv2
import numpy as np
import pytest
from real_photos import LABELS, photo_path
import torch


def _frame(seed: int, width: int = 160, height: int = 120) -> np.ndarray:
    """Coloured blocks on a two-tone floor and wall, like the simulator's views."""
    rng = np.random.default_rng(seed)
    image = np.full((height, width, 3), 120, np.uint8)
    image[:height // 3] = (205, 195, 175)
    for _ in range(4):
        x, y = rng.integers(0, width - 30), rng.integers(height // 3, height - 30)
        image[y:y + rng.integers(10, 30), x:x + rng.integers(10, 30)] = rng.integers(0, 255, 3)
    return image


@pytest.fixture(scope='module')
def frames_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp('frames')
    for seed in range(5):
        cv2.imwrite(str(folder / f'frame_{seed}.png'),
                    cv2.cvtColor(_frame(seed), cv2.COLOR_RGB2BGR))
    return folder


@pytest.fixture(scope='module')
def fp32_export(tiny_model_dir, frames_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp('export') / 'tiny_fp32'
    manifest = export(tiny_model_dir, out, calibration=str(frames_dir), frames=2, holdout=2,
                      log=lambda _: None)
    return out, manifest


@pytest.fixture(scope='module')
def int8_export(tiny_model_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp('export') / 'tiny_int8'
    # Random weights: every crop embeds nearly alike, so the centred cosines the check uses
    # measure mostly quantization noise; the tolerances are off, raw agreement is tested.
    manifest = export(tiny_model_dir, out, int8=True, calibration='sim', frames=2, holdout=1,
                      min_cosine=-1.0, min_top1=0.0, log=lambda _: None)
    return out, manifest


def _images():
    rng = np.random.default_rng(1)
    return [rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
            for h, w in [(40, 60), (32, 32), (100, 20), (64, 64), (33, 47)]]


def test_fp32_export_is_a_complete_model_folder(fp32_export, tiny_model_dir):
    out, manifest = fp32_export
    torch_encoder = load_encoder(str(out), device='cpu', backend='torch')
    files = sorted(p.name for p in (out / OPENVINO_DIR).iterdir())
    assert files == ['image_fp32.bin', 'image_fp32.xml', EXPORT_MANIFEST, 'text_fp32.bin',
                     'text_fp32.xml']
    assert json.loads((out / OPENVINO_DIR / EXPORT_MANIFEST).read_text()) == manifest
    assert manifest['precision'] == 'fp32' and manifest['source_model'] == tiny_model_dir
    assert (manifest['image_size'], manifest['patch_size'], manifest['embedding_dim'],
            manifest['context_length']) == (32, 8, 16, torch_encoder.context_length)
    assert 'calibration' not in manifest
    figures = manifest['agreement']
    assert figures['crop_cosine'] > 0.999 and figures['patch_cosine'] > 0.999
    assert figures['text_cosine'] > 0.999 and figures['holdout']['frames'] == 2
    assert torch_encoder.backend == 'torch fp32'  # the model was saved beside its export


def test_fp32_export_agrees_with_torch(fp32_export):
    out, _ = fp32_export
    torch_encoder = load_encoder(str(out), device='cpu', backend='torch')
    encoder = load_encoder(str(out), device='cpu', backend='openvino')
    assert encoder.backend == 'openvino fp32' and encoder.device == torch.device('cpu')
    for name in ('image_size', 'patch_size', 'context_length', 'vocabulary'):
        assert getattr(encoder, name) == getattr(torch_encoder, name)
    assert encoder.logit_scale == pytest.approx(torch_encoder.logit_scale)
    # Phrases of different lengths in one batch: padding and the end token must match.
    phrases = ['a red ball', 'a photo of a blue box.', 'go to the green cylinder', 'a']
    assert torch.allclose(encoder.encode_text(phrases), torch_encoder.encode_text(phrases),
                          atol=1e-4)
    images = _images()
    ours, theirs = encoder.encode_images(images, batch_size=2), torch_encoder.encode_images(images)
    assert ours.shape == (5, 16) and torch.allclose(ours, theirs, atol=1e-4)
    for height, width, short_side in [(480, 640, None), (240, 320, 48), (100, 300, None)]:
        frame = _frame(7, width, height)
        grid, global_embedding = encoder.encode_dense(frame, short_side)
        torch_grid, torch_global = torch_encoder.encode_dense(frame, short_side)
        assert grid.shape == torch_grid.shape
        assert torch.allclose(grid, torch_grid, atol=1e-4)
        assert torch.allclose(global_embedding, torch_global, atol=1e-4)


def test_int8_export_calibrated_on_simulator_frames(int8_export):
    out, manifest = int8_export
    assert manifest['precision'] == 'int8'
    assert manifest['files'] == {'image': 'image_int8.xml', 'text': 'text_fp32.xml'}
    assert manifest['calibration']['source'] == 'sim' and manifest['calibration']['frames'] == 2
    assert manifest['calibration']['inputs'] > 2  # dense inputs and crops
    torch_encoder = load_encoder(str(out), device='cpu', backend='torch')
    encoder = load_encoder(str(out), device='cpu')
    assert encoder.backend == 'openvino int8'
    images = _images()
    cosines = (torch_encoder.encode_images(images) * encoder.encode_images(images)).sum(dim=1)
    assert cosines.min() > 0.9
    frame = _frame(3, 320, 240)
    assert encoder.encode_dense(frame)[0].shape == torch_encoder.encode_dense(frame)[0].shape
    assert torch.allclose(encoder.encode_text(['a red ball']),
                          torch_encoder.encode_text(['a red ball']), atol=1e-4)


def test_int8_export_calibrated_on_a_folder_of_real_photographs(
        tiny_model_dir, tmp_path, photos):
    """Camera frames of a real robot: JPEG and PNG photographs of several sizes, as given."""
    folder = tmp_path / 'robot_frames'
    folder.mkdir()
    for entry in json.loads(LABELS.read_text())['photos']:
        source = photo_path(entry)
        shutil.copy(source, folder / f"{entry['id']}{source.suffix}")
    out = tmp_path / 'tiny_int8_real'
    manifest = export(tiny_model_dir, out, int8=True, calibration=str(folder), frames=4,
                      holdout=2, min_cosine=-1.0, min_top1=0.0, log=lambda _: None)
    calibration = manifest['calibration']
    assert calibration['source'] == str(folder) and calibration['frames'] == 4
    assert calibration['inputs'] > 4  # each photograph's dense input and its crops
    encoder = load_encoder(str(out), device='cpu')
    assert encoder.backend == 'openvino int8'
    embedding = encoder.encode_images([photos[0].rgb])
    assert embedding.shape[0] == 1 and torch.isfinite(embedding).all()


def test_export_below_tolerance_is_refused_and_writes_nothing(tiny_model_dir, frames_dir,
                                                              tmp_path, capsys):
    out = tmp_path / 'refused'
    status = main([tiny_model_dir, '--out', str(out), '--calibration', str(frames_dir),
                   '--frames', '1', '--holdout', '1', '--min-cosine', '1.01'])
    assert status == 1
    error = capsys.readouterr().err
    assert 'refusing to write the fp32 export' in error and 'crop_cosine' in error
    assert not out.exists()


def test_export_in_place_adds_only_the_export(tiny_model_dir, frames_dir, tmp_path):
    folder = tmp_path / 'model'
    shutil.copytree(tiny_model_dir, folder)
    before = sorted(p.name for p in folder.iterdir())
    export(str(folder), folder, calibration=str(frames_dir), frames=1, holdout=1,
           log=lambda _: None)
    assert sorted(p.name for p in folder.iterdir()) == sorted(before + [OPENVINO_DIR])
    assert load_encoder(str(folder), device='cpu').backend == 'openvino fp32'


@pytest.mark.parametrize('problem', ['missing calibration folder', 'too few frames',
                                     'occupied output'])
def test_export_input_errors(tiny_model_dir, frames_dir, tmp_path, problem):
    out, calibration, holdout = tmp_path / 'out', str(frames_dir), 1
    if problem == 'missing calibration folder':
        calibration = str(tmp_path / 'nowhere')
    elif problem == 'too few frames':
        holdout = 10
    else:
        out.mkdir()
        (out / 'notes.txt').write_text('mine')
    with pytest.raises(ExportError) as error:
        export(tiny_model_dir, out, calibration=calibration, holdout=holdout,
               log=lambda _: None)
    assert error.value.status == 2
    assert {'missing calibration folder': 'not found', 'too few frames': 'has 5 images',
            'occupied output': 'not empty'}[problem] in str(error.value)


def test_auto_backend_selection(fp32_export, tiny_model_dir, monkeypatch):
    out, _ = fp32_export
    assert load_encoder(str(out), device='cpu').backend == 'openvino fp32'
    assert load_encoder(str(out), device='cpu', backend='torch').backend == 'torch fp32'
    assert load_encoder(tiny_model_dir, device='cpu').backend == 'torch fp32'  # no export
    # A GPU always runs torch, and so does a folder when openvino is not installed.
    assert not _openvino_candidate(out, torch.device('cuda'), half=False)
    assert _openvino_candidate(out, torch.device('cpu'), half=False)
    import importlib.util

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, 'find_spec',
                        lambda name, *args: None if name == 'openvino' else
                        find_spec(name, *args))
    assert load_encoder(str(out), device='cpu').backend == 'torch fp32'


def test_explicit_openvino_backend_errors(tiny_model_dir):
    with pytest.raises(ModelLoadError, match='has no OpenVINO export') as error:
        load_encoder(tiny_model_dir, device='cpu', backend='openvino')
    assert 'python -m clip_grounding_ros.export' in str(error.value)
    with pytest.raises(ModelLoadError, match='needs a model folder'):
        load_encoder('openai/clip-vit-base-patch32', device='cpu', backend='openvino')
    with pytest.raises(ModelLoadError, match="unknown backend 'tensorrt'"):
        load_encoder(tiny_model_dir, device='cpu', backend='tensorrt')


def test_export_of_other_weights_is_not_used(fp32_export, tmp_path):
    from safetensors.torch import load_file, save_file

    folder = tmp_path / 'retrained'
    shutil.copytree(fp32_export[0], folder)
    weights = load_file(folder / 'model.safetensors')
    weights['logit_scale'] = weights['logit_scale'] + 1.0
    save_file(weights, folder / 'model.safetensors', metadata={'format': 'pt'})
    with pytest.warns(UserWarning, match='other weights'):
        assert load_encoder(str(folder), device='cpu').backend == 'torch fp32'
    with pytest.raises(ModelLoadError, match='other weights'):
        load_encoder(str(folder), device='cpu', backend='openvino')


def test_damaged_export_is_a_model_load_error(fp32_export, tmp_path):
    folder = tmp_path / 'damaged'
    shutil.copytree(fp32_export[0], folder)
    (folder / OPENVINO_DIR / 'image_fp32.xml').write_text('<net>')
    with pytest.raises(ModelLoadError, match='could not load') as error:
        load_encoder(str(folder), device='cpu', backend='openvino')
    assert 'export again' in str(error.value)
    with pytest.warns(UserWarning, match='could not load'):
        assert load_encoder(str(folder), device='cpu').backend == 'torch fp32'
    (folder / OPENVINO_DIR / EXPORT_MANIFEST).write_text('{')
    with pytest.warns(UserWarning, match='cannot be used'):
        assert load_encoder(str(folder), device='cpu').backend == 'torch fp32'


def test_openvino_encoder_refuses_long_text(fp32_export):
    encoder = load_encoder(str(fp32_export[0]), device='cpu', backend='openvino')
    limit = encoder.context_length
    with pytest.raises(TextTooLongError, match=f'at most {limit} tokens'):
        encoder.encode_text([' '.join(['blue'] * limit)])


def test_runtime_model_module_does_not_import_the_export_tools():
    script = ('import sys, clip_grounding_ros.core.perception.model, '
              'clip_grounding_ros.core.perception.grounding; '
              "print(sorted(m for m in ('openvino', 'nncf', 'clip_grounding_ros.export') "
              'if m in sys.modules))')
    result = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True,
                            timeout=120, check=True)
    assert result.stdout.strip() == '[]'
