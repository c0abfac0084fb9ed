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

"""The training script and its data: a few real steps, so it cannot rot, and the labels."""

from dataclasses import replace
import json

from clip_grounding_ros.core.perception.encoder import VOCABULARY_FILE
from clip_grounding_ros.core.perception.model import load_encoder, maskclip_features
from clip_grounding_ros.sim import SHAPES
from clip_grounding_ros.training import data, train
from clip_grounding_ros.training.factory import build_clip, build_tokenizer, TINY
import numpy as np
import pytest
import torch


def test_a_few_training_steps_save_a_loadable_model(tmp_path):
    out = tmp_path / 'model'
    argv = ['--out', str(out), '--data', str(tmp_path / 'views'), '--train-scenes', '2',
            '--eval-scenes', '1', '--views', '2', '--steps', '2', '--batch', '16',
            '--frames', '2', '--workers', '1', '--passes', '1', '--log-every', '1',
            '--vision-width', '32', '--vision-layers', '1', '--text-width', '32',
            '--text-layers', '1']
    train.main(argv)
    report = json.loads((out / 'training_report.json').read_text())
    assert report['steps'] == 2 and report['train_views'] == 4
    assert report['command'].split()[3:] == argv
    assert 0.0 <= report['metrics']['seen_accuracy'] <= 1.0
    assert 0.0 <= report['metrics']['dense_background_recognised'] <= 1.0
    encoder = load_encoder(str(out), device='cpu')
    assert encoder.image_size == 64 and encoder.patch_size == 4
    assert 'box' in encoder.vocabulary
    assert json.loads((out / VOCABULARY_FILE).read_text()) == data.vocabulary()
    # The rendered views are reused, not rendered again, by a second run.
    assert (tmp_path / 'views' / 'train.npz').exists()


def test_held_out_combinations_and_nouns_never_appear_in_training_captions():
    bank = data.CaptionBank()
    texts = ' | '.join(bank.texts)
    for colour, shape in data.HELD_OUT_COMBOS:
        assert (data.COLOUR_NAMES.index(colour), SHAPES.index(shape)) not in bank.full
    for noun in data.HELD_OUT_NOUNS:
        assert noun not in texts and noun not in data.vocabulary()
    assert 'an orange box' in texts and 'a orange box' in texts


def test_training_scenes_recolour_held_out_combinations_and_evaluation_scenes_add_one():
    for seed in range(20):
        assert not [o for o in data.training_scene(seed).objects
                    if (o.color, o.shape) in data.HELD_OUT_COMBOS]
        first = data.evaluation_scene(seed).objects[0]
        assert (first.color, first.shape) in data.HELD_OUT_COMBOS


def test_match_weights_follow_what_each_caption_states():
    blue, box, red, sphere = (data.COLOUR_NAMES.index('blue'), SHAPES.index('box'),
                              data.COLOUR_NAMES.index('red'), SHAPES.index('sphere'))
    # captions: "blue box", "a blue thing", "a sphere", "the floor", "a chair"
    kind = np.array([data.OBJECT, data.OBJECT, data.OBJECT, data.BACKGROUND, data.UNKNOWN])
    colour = np.array([blue, blue, -1, -1, -1])
    shape = np.array([box, -1, sphere, -1, -1])
    weights = data.match_weights(np.array([blue, red, -1]), np.array([box, sphere, -1]),
                                 np.array([1.0, 0.25, 0.0]), kind, colour, shape)
    np.testing.assert_allclose(weights, [[1, 1, 0, 0, 0],        # a good blue box crop
                                         [0, 0, 0.25, 0.75, 0],  # a partial red sphere
                                         [0, 0, 0, 1, 0]])       # floor


def test_crop_labels_from_a_view():
    rng = np.random.default_rng(0)
    image = np.full((240, 320, 3), 120, np.uint8)
    image[100:140, 100:140] = (20, 40, 220)
    objects = np.array([[data.COLOUR_NAMES.index('blue'), SHAPES.index('box'),
                         100, 100, 140, 140]])
    proposals = np.array([[100, 100, 140, 140], [110, 110, 150, 150], [250, 20, 300, 70],
                          [0, 0, 320, 240]], dtype=np.float32)
    labelled = list(data.crops_from_view(image, objects, proposals, rng, size=32,
                                         max_proposals=4))
    weights = {round(w, 2) for _, c, _, w in labelled if c >= 0}
    assert 1.0 in weights  # the jittered true box and the exact proposal
    assert any(0.0 < w < 1.0 for w in weights)  # the shifted proposal: partial
    assert any(c == -1 for _, c, _, _ in labelled)  # the empty corner: background
    assert all(crop.shape == (32, 32, 3) for crop, *_ in labelled)
    # The whole frame holds the object but is mostly floor: neither label fits, skipped.
    assert len(labelled) == 4


@pytest.mark.parametrize('steps, elapsed, minutes, expected', [
    (50, 0.0, 0.0, 0.5), (10, 30.0, 1.0, 0.5), (90, 30.0, 1.0, 0.9)])
def test_training_progress_by_steps_or_time(steps, elapsed, minutes, expected):
    assert train.training_progress(steps, 100, elapsed, minutes) == pytest.approx(expected)
    assert train.learning_rate_factor(1.0) == pytest.approx(0.0, abs=1e-9)


# -- the dense (patch) losses -------------------------------------------------------------
def test_patch_classes_are_the_share_of_each_patch_a_class_covers():
    labels = np.zeros((240, 320), np.uint8)
    blue_box = data.class_index(data.COLOUR_NAMES.index('blue'), SHAPES.index('box'))
    labels[0:30, 0:40] = blue_box      # exactly patch (0, 0) of an 8 x 8 grid of 30 x 40 px
    labels[30:45, 40:80] = blue_box + 1  # the upper half of patch (1, 1)
    shares = data.patch_classes(labels, cols=8, rows=8)
    assert shares.shape == (8, 8, data.CLASSES)
    np.testing.assert_allclose(shares.sum(axis=2), 1.0, atol=1e-6)
    assert shares[0, 0, blue_box] == pytest.approx(1.0)
    assert shares[1, 1, blue_box + 1] == pytest.approx(0.5)
    assert shares[1, 1, 0] == pytest.approx(0.5)
    assert shares[2:, :, 0].min() == pytest.approx(1.0)


@pytest.mark.parametrize('height, width, short_side', [(240, 320, 64), (480, 640, 32),
                                                       (100, 20, 64), (240, 320, 128)])
def test_frames_are_resized_like_the_dense_pass(tiny_encoder, height, width, short_side):
    pixels = tiny_encoder.dense_pixels(np.zeros((height, width, 3), np.uint8), short_side)
    expected = data.dense_input_size(width, height, short_side, tiny_encoder.patch_size)
    assert (pixels.shape[3], pixels.shape[2]) == expected


def test_segmentation_labels_land_on_the_patches_that_show_the_objects():
    views = data.render_views(range(1), 2, data.training_scene)
    frames = data.cut_frames(views, range(len(views)), image_size=64, patch_size=4)
    assert frames.images.shape[1:] == (64, 84, 3) and frames.classes.shape[1:3] == (16, 21)
    cell_w, cell_h = 320 / 21, 240 / 16  # a patch's footprint in the 320 x 240 view, px
    centres_x = (np.arange(21) + 0.5) * cell_w
    centres_y = (np.arange(16) + 0.5) * cell_h
    for view in range(len(views)):
        labels = views.labels(view)
        shares = frames.classes[view].astype(np.float64)
        objects = views.view_objects(view)
        for colour, shape, x1, y1, x2, y2 in objects:
            label = data.class_index(colour, shape)
            share = shares[:, :, label]
            # Area is conserved: the shares add up to the object's pixels ...
            assert share.sum() * cell_w * cell_h == pytest.approx((labels == label).sum(),
                                                                  rel=0.01)
            # ... and sit where the object is (one object of this class in the view).
            if (data.class_index(objects[:, 0], objects[:, 1]) == label).sum() == 1:
                assert x1 <= (share.sum(0) @ centres_x) / share.sum() <= x2
                assert y1 <= (share.sum(1) @ centres_y) / share.sum() <= y2


def _tiny_clip(patch_size=4):
    size = replace(TINY, patch_size=patch_size)
    tokenizer = build_tokenizer(data.caption_corpus()[::50], size.vocab_size)
    model, _ = build_clip(size, tokenizer)
    return model, tokenizer


def test_the_dense_loss_trains_the_value_path_encode_dense_reads():
    model, tokenizer = _tiny_clip()
    captions = ['a photo of the floor.', 'a photo of a wall.', 'a blue box', 'a red ball']
    tokens = tokenizer(captions, padding=True, return_tensors='pt')
    _, patches = maskclip_features(model, torch.randn(2, 3, 32, 44))
    text = model.get_text_features(**tokens)
    text = text if isinstance(text, torch.Tensor) else text.pooler_output
    logits = train.similarity_logits(patches.reshape(-1, patches.shape[-1]), text, 10.0)
    targets = torch.zeros(len(logits), 4)
    targets[:, 0] = 1.0
    targets[::3, 0], targets[::3, 2] = 0.0, 1.0
    judged = torch.tensor([False, False, True, True])
    loss = train.soft_cross_entropy(logits, targets) + \
        train.decision_loss(logits, targets, 2, judged)
    loss.backward()
    last = model.vision_model.encoder.layers[-1]
    assert last.self_attn.v_proj.weight.grad.abs().sum() > 0
    assert last.self_attn.out_proj.weight.grad.abs().sum() > 0
    assert model.visual_projection.weight.grad.abs().sum() > 0
    # MaskCLIP skips the last block's attention pattern and MLP: no gradient reaches them.
    assert last.self_attn.q_proj.weight.grad is None
    assert last.mlp.fc1.weight.grad is None


def test_the_decision_loss_is_the_run_time_score_against_the_background_prompts():
    logits = torch.tensor([[10.0, 10.0, 12.0, 4.0]])  # two background prompts, two captions
    judged = torch.tensor([False, False, True, True])
    score = torch.softmax(torch.tensor([12.0, 10.0, 10.0]), 0)[0]  # Grounder's score of col 2
    loss = train.decision_loss(logits, torch.tensor([[0.0, 0.0, 1.0, 0.0]]), 2, judged)
    wrong = torch.softmax(torch.tensor([4.0, 10.0, 10.0]), 0)[0]
    assert loss.item() == pytest.approx(-(torch.log(score) + torch.log(1 - wrong)).item() / 2,
                                        rel=1e-5)


def test_hard_negatives_differ_in_one_attribute_and_are_never_held_out():
    bank = data.CaptionBank()
    rng = np.random.default_rng(0)
    changed = set()
    for colour in range(len(data.COLOUR_NAMES)):
        for shape in range(len(SHAPES)):
            for _ in range(20):
                index = bank.hard_negative(rng, colour, shape)
                assert bank.kind[index] == data.OBJECT
                other = (int(bank.colour[index]), int(bank.shape[index]))
                assert other in bank.full
                assert (other[0] != colour) + (other[1] != shape) == 1
                changed.add('colour' if other[0] != colour else 'shape')
    assert changed == {'colour', 'shape'}


def test_a_batch_has_a_caption_and_a_hard_negative_for_every_object_region():
    bank = data.CaptionBank()
    blue, box = data.COLOUR_NAMES.index('blue'), SHAPES.index('box')
    chosen = bank.sample(np.random.default_rng(0), np.array([blue, -1]), np.array([box, -1]),
                         np.array([1.0, 0.0]), unknown=2)
    references = len(bank.run_time_background)
    assert list(chosen[:references]) == list(bank.run_time_background)
    assert len(chosen) == references + 2 + 1 + 2
    targets = data.match_weights(np.array([blue, -1]), np.array([box, -1]),
                                 np.array([1.0, 0.0]), bank.kind[chosen], bank.colour[chosen],
                                 bank.shape[chosen])
    assert targets[0, references] == 1.0 and targets[0, references + 2] == 0.0
    assert targets[1, references + 1] == 1.0  # a background caption for the floor crop


@pytest.mark.parametrize('object_share', [np.array([1.0, 1.0, 0.0, 0.0, 0.0, 0.0]),
                                          np.array([1.0, 0.0, 0.0]),
                                          np.array([0.3, 0.6, 0.0, 0.1]),
                                          np.zeros(4)])
def test_balanced_patch_weights_give_objects_and_background_equal_say(object_share):
    weights = train.balanced_weights(object_share)
    assert weights.mean() == pytest.approx(1.0)
    # Weights never fall as a patch shows more object ...
    order = np.argsort(object_share)
    assert np.all(np.diff(weights[order]) >= -1e-6)
    # ... and whole-object and whole-background patches carry equal totals.
    if set(object_share) == {0.0, 1.0}:
        objects = (weights * object_share).sum()
        assert objects == pytest.approx((weights * (1.0 - object_share)).sum())
