"""Model loading (local folder, hub id offline, bad values) and the encoder interface."""

import time

import numpy as np
import pytest
import torch

from clip_grounding_ros.core.model import ModelLoadError, load_encoder, resolve_device


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
