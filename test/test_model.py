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

"""Model loading (local folder, hub id offline, bad values) and the encoder interface."""

import time

from clip_grounding_ros.core.perception.encoder import ModelLoadError, TextTooLongError
from clip_grounding_ros.core.perception.model import load_encoder, resolve_device
import numpy as np
import pytest
import torch


def test_local_folder_loads_through_from_pretrained(tiny_model_dir):
    encoder = load_encoder(tiny_model_dir, device='cpu')
    assert encoder.image_size == 32 and encoder.patch_size == 8
    assert encoder.dtype == torch.float32
    assert encoder.logit_scale > 1.0


def test_missing_folder_names_the_folder_and_how_to_fix_it(tmp_path):
    with pytest.raises(ModelLoadError) as error:
        load_encoder(str(tmp_path / 'no_such_model'), device='cpu')
    assert 'no_such_model' in str(error.value)
    assert 'save_pretrained' in str(error.value)


def test_folder_without_weights_is_a_clear_error(tmp_path):
    (tmp_path / 'config.json').write_text('{"model_type": "clip"}')
    with pytest.raises(ModelLoadError) as error:
        load_encoder(str(tmp_path), device='cpu')
    assert str(tmp_path) in str(error.value)


@pytest.mark.parametrize('offline_env', ['1', '0'])
def test_unknown_hub_id_offline_fails_fast_with_instructions(monkeypatch, offline_env):
    monkeypatch.setenv('HF_HUB_OFFLINE', offline_env)
    # A host that cannot resolve: the probe must answer quickly, not retry for ~25 s.
    monkeypatch.setenv('HF_ENDPOINT', 'https://hub.invalid')
    start = time.monotonic()
    with pytest.raises(ModelLoadError) as error:
        load_encoder('nobody/clip-that-does-not-exist', device='cpu')
    assert time.monotonic() - start < 10.0
    message = str(error.value)
    assert 'nobody/clip-that-does-not-exist' in message and 'save_pretrained' in message


def test_hub_id_with_downloads_disabled(monkeypatch):
    with pytest.raises(ModelLoadError, match='allow_download is false'):
        load_encoder('nobody/not-in-any-cache', device='cpu', allow_download=False)


@pytest.mark.parametrize('model', ['', '   '])
def test_empty_model_parameter(model):
    with pytest.raises(ModelLoadError, match='empty'):
        load_encoder(model)


def test_device_values():
    assert resolve_device('cpu').type == 'cpu'
    assert resolve_device('auto').type == ('cuda' if torch.cuda.is_available() else 'cpu')
    with pytest.raises(ModelLoadError, match='unknown device'):
        resolve_device('tpu')
    if not torch.cuda.is_available():
        with pytest.raises(ModelLoadError, match='CUDA is not available'):
            resolve_device('cuda')


def test_half_precision_requires_cuda(tiny_model_dir):
    with pytest.raises(ModelLoadError, match='fp16'):
        load_encoder(tiny_model_dir, device='cpu', half=True)


def test_text_embeddings_are_unit_norm_and_cached(tiny_model_dir):
    encoder = load_encoder(tiny_model_dir, device='cpu')
    first = encoder.encode_text(['a blue box', 'a red ball'])
    assert first.shape == (2, 16)
    assert torch.allclose(first.norm(dim=1), torch.ones(2), atol=1e-5)
    assert encoder.text_cache_misses == 2
    again = encoder.encode_text(['a red ball', 'a blue box', 'a red ball'])
    assert encoder.text_cache_misses == 2 and encoder.text_cache_hits == 3
    assert torch.equal(again[1], first[0]) and torch.equal(again[0], first[1])
    with pytest.raises(ValueError):
        encoder.encode_text([])


def test_text_cache_is_bounded(tiny_model_dir):
    encoder = load_encoder(tiny_model_dir, device='cpu', text_cache_size=3)
    for word in ['a', 'b', 'c', 'd', 'e']:
        encoder.encode_text([word])
    assert len(encoder._text_cache) == 3


def test_image_embeddings_batch_matches_single(tiny_encoder):
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
              for h, w in [(40, 60), (32, 32), (100, 20)]]
    batch = tiny_encoder.encode_images(images, batch_size=2)
    assert batch.shape == (3, 16)
    single = tiny_encoder.encode_images([images[2]])
    assert torch.allclose(batch[2], single[0], atol=1e-5)
    with pytest.raises(ValueError):
        tiny_encoder.encode_images([])


def test_dense_grid_follows_the_aspect_ratio(tiny_encoder):
    grid, global_embedding = tiny_encoder.encode_dense(np.zeros((480, 640, 3), np.uint8))
    # short side 32 px -> 4 patches; long side 32 * 4/3 = 42.7 -> 40 px -> 5 patches
    assert grid.shape == (4, 5, 16)
    assert global_embedding.shape == (16,)
    assert torch.allclose(grid.norm(dim=-1), torch.ones(4, 5), atol=1e-5)
    assert tiny_encoder.encode_dense(np.zeros((480, 640, 3), np.uint8), 64)[0].shape[:2] == (8, 11)


# -- model folder integrity ----------------------------------------------------------------
def _broken_copy(tiny_model_dir, tmp_path, rename=None):
    """
    Copy the tiny model folder, renaming its weights' keys.

    Keys are renamed by ``rename`` (key -> new key, None drops it).
    """
    import shutil

    from safetensors.torch import load_file, save_file

    folder = tmp_path / 'broken'
    shutil.copytree(tiny_model_dir, folder)
    if rename is not None:
        weights = load_file(folder / 'model.safetensors')
        renamed = {rename(k): v for k, v in weights.items() if rename(k) is not None}
        save_file(renamed, folder / 'model.safetensors', metadata={'format': 'pt'})
    return folder


def _load_error(folder) -> str:
    with pytest.raises(ModelLoadError) as error:
        load_encoder(str(folder), device='cpu', backend='torch')
    return str(error.value)


@pytest.mark.parametrize('prefix', ['model.', 'state_dict.'])
def test_weights_under_a_prefix_are_refused(tiny_model_dir, tmp_path, prefix):
    message = _load_error(_broken_copy(tiny_model_dir, tmp_path, lambda k: prefix + k))
    assert 'do not fit' in message
    assert "of the model's weights are missing" in message  # the count, then examples
    assert f"under a '{prefix}' prefix" in message
    assert 'save_pretrained' in message


def test_checkpoint_without_text_tower_is_refused(tiny_model_dir, tmp_path):
    folder = _broken_copy(tiny_model_dir, tmp_path,
                          lambda k: k if k.startswith(('vision_model.', 'visual_')) else None)
    message = _load_error(folder)
    assert 'vision-only checkpoint' in message and 'missing from the checkpoint' in message


def test_vision_model_folder_is_refused(tiny_model_dir, tmp_path):
    from transformers import CLIPConfig, CLIPVisionModel

    folder = _broken_copy(tiny_model_dir, tmp_path)
    (folder / 'model.safetensors').unlink()
    config = CLIPConfig.from_pretrained(tiny_model_dir).vision_config
    CLIPVisionModel(config).save_pretrained(folder)
    message = _load_error(folder)
    assert 'vision-only checkpoint' in message and "'clip_vision_model'" in message


def test_weights_of_another_size_are_refused(tiny_model_dir, tmp_path):
    from safetensors.torch import load_file, save_file

    folder = _broken_copy(tiny_model_dir, tmp_path)
    weights = load_file(folder / 'model.safetensors')
    weights['text_projection.weight'] = torch.zeros(3, 3)
    save_file(weights, folder / 'model.safetensors', metadata={'format': 'pt'})
    message = _load_error(folder)
    assert '1 weights have another shape' in message and 'text_projection.weight' in message
    assert 'config.json does not describe these weights' in message


def test_truncated_weights_are_a_model_load_error(tiny_model_dir, tmp_path):
    folder = _broken_copy(tiny_model_dir, tmp_path)
    data = (folder / 'model.safetensors').read_bytes()
    (folder / 'model.safetensors').write_bytes(data[:len(data) // 2])
    message = _load_error(folder)
    assert str(folder) in message and 'SafetensorError' in message


def test_config_that_is_not_json_is_a_model_load_error(tiny_model_dir, tmp_path):
    folder = _broken_copy(tiny_model_dir, tmp_path)
    (folder / 'config.json').write_text('{"model_type": "clip",')
    message = _load_error(folder)
    assert 'not a valid JSON file' in message and str(folder) in message


def test_intact_folder_loads_without_complaint(tiny_model_dir, tmp_path):
    encoder = load_encoder(str(_broken_copy(tiny_model_dir, tmp_path)), device='cpu')
    assert encoder.backend == 'torch fp32'


# -- text longer than the context ----------------------------------------------------------
def test_text_past_the_context_length_is_refused(tiny_encoder):
    limit = tiny_encoder.context_length
    long_phrase = ' '.join(['blue'] * limit) + ' box'
    count = len(tiny_encoder.tokenizer(long_phrase)['input_ids'])
    assert count > limit
    misses = tiny_encoder.text_cache_misses
    with pytest.raises(TextTooLongError) as error:
        tiny_encoder.encode_text(['a red ball', long_phrase])
    message = str(error.value)
    assert f'is {count} tokens long' in message and f'at most {limit} tokens' in message
    assert long_phrase in message
    assert tiny_encoder.text_cache_misses == misses  # refused before anything was encoded
    assert isinstance(error.value, ValueError)


def test_text_at_the_context_length_is_encoded(tiny_encoder):
    limit = tiny_encoder.context_length
    phrase = ' '.join(['a'] * (limit - 2))  # 'a' is one token; plus the start and end tokens
    assert len(tiny_encoder.tokenizer(phrase)['input_ids']) == limit
    assert tiny_encoder.encode_text([phrase]).shape == (1, 16)


def test_bundled_model_refuses_commands_it_would_cut():
    from clip_grounding_ros.resources import resolve_model

    encoder = load_encoder(resolve_model('package://clip_grounding_ros/models/sim_clip'),
                           device='cpu', backend='torch')
    padding = 'go to the something over there near the wall behind the other thing and then'
    for target in ('red ball', 'blue box'):
        with pytest.raises(TextTooLongError, match='reads at most 24 tokens'):
            encoder.encode_text([f'{padding} {target}'])
    assert encoder.encode_text(['go to the red ball']).shape == (1, 128)
