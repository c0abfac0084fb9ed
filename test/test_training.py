"""The training script and its data: a few real steps, so it cannot rot, and the labels."""

import json

import numpy as np
import pytest

from clip_grounding_ros.core.model import VOCABULARY_FILE, load_encoder
from clip_grounding_ros.sim import SHAPES
from clip_grounding_ros.training import data, train


def test_a_few_training_steps_save_a_loadable_model(tmp_path):
    out = tmp_path / 'model'
    train.main(['--out', str(out), '--data', str(tmp_path / 'views'), '--train-scenes', '2',
                '--eval-scenes', '1', '--views', '2', '--steps', '2', '--batch', '16',
                '--workers', '1', '--passes', '1', '--log-every', '1', '--vision-width', '32',
                '--vision-layers', '1', '--text-width', '32', '--text-layers', '1'])
    report = json.loads((out / 'training_report.json').read_text())
    assert report['steps'] == 2 and report['train_views'] == 4
    assert 0.0 <= report['metrics']['seen_accuracy'] <= 1.0
    encoder = load_encoder(str(out), device='cpu')
    assert encoder.image_size == 64 and 'box' in encoder.vocabulary
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
