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
Grounding and classification plumbing with a tiny random-weight CLIP.

Random weights mean these tests check shapes, bounds, thresholds, scoring arithmetic and
caching, not whether the right object wins (test_offline_model.py does that with the
trained model).
"""

from clip_grounding_ros.core.perception.grounding import (
    contrast_phrases,
    Grounder,
    GrounderConfig,
    Strategy,
)
from clip_grounding_ros.core.perception.images import ImageError
from clip_grounding_ros.core.perception.proposals import square_crop
import numpy as np
import pytest
import torch


def _frame(seed=0):
    rng = np.random.default_rng(seed)
    image = np.full((240, 320, 3), 110, np.uint8)
    for _ in range(3):
        x, y = rng.integers(0, 280), rng.integers(60, 200)
        image[y:y + 40, x:x + 40] = rng.integers(0, 255, 3)
    return image


@pytest.mark.parametrize('strategy', list(Strategy))
def test_each_strategy_returns_boxes_inside_the_image(tiny_encoder, strategy):
    result = Grounder(tiny_encoder, GrounderConfig(strategy=strategy)).ground(_frame(), 'blue box')
    assert result.strategy == strategy and result.image_size == (320, 240)
    assert 1 <= len(result.candidates) <= 5
    for candidate in result.candidates:
        x1, y1, x2, y2 = candidate.box
        assert 0 <= x1 < x2 <= 320 and 0 <= y1 < y2 <= 240
        assert 0.0 <= candidate.score <= 1.0
    scores = [c.score for c in result.candidates]
    assert scores == sorted(scores, reverse=True)
    assert result.timings_ms['total_ms'] > 0


def test_crop_score_is_the_softmax_against_background_prompts(tiny_encoder):
    config = GrounderConfig(strategy='crops')
    result = Grounder(tiny_encoder, config).ground(_frame(), 'red ball')
    best = result.best
    crop = square_crop(_frame(), best.box, tiny_encoder.image_size, config.crop_context)
    image = tiny_encoder.encode_images([crop])
    texts = torch.cat([Grounder(tiny_encoder, config).phrase_embedding('red ball')[None],
                       tiny_encoder.encode_text(list(config.background_prompts))])
    expected = torch.softmax(tiny_encoder.logit_scale * image @ texts.T, dim=-1)[0, 0].item()
    assert best.score == pytest.approx(expected, abs=1e-4)


def test_contrasts_are_the_phrase_said_with_each_other_class_of_its_words():
    classes = 'box,cube,crate|ball,sphere|cylinder; red|green|purple,violet'
    assert contrast_phrases('green crate', classes) == [
        'green ball', 'green cylinder', 'red crate', 'purple crate']
    assert contrast_phrases('violet cube', classes)[-2:] == ['red cube', 'green cube']
    assert contrast_phrases('box', classes) == ['ball', 'cylinder']
    assert contrast_phrases('shiny thing', classes) == []  # no word in a group
    assert contrast_phrases('green crate', '') == []


def test_contrasts_compete_with_the_phrase_in_the_score(tiny_encoder):
    """
    With contrast classes the score is the softmax over the phrase, backgrounds and contrasts.

    A look-alike that scores for its own class scores less for the phrase: the probability
    mass the contrasts take is gone from the phrase.
    """
    classes = 'ball|box|cylinder; red|blue|green'
    plain = Grounder(tiny_encoder, GrounderConfig(strategy='crops'))
    contrasted = Grounder(tiny_encoder, GrounderConfig(strategy='crops',
                                                       contrast_classes=classes))
    result = contrasted.ground(_frame(), 'red ball')
    crop = square_crop(_frame(), result.best.box, tiny_encoder.image_size, 0.15)
    image = tiny_encoder.encode_images([crop])
    texts = torch.cat([plain.phrase_embedding(p)[None] for p in
                       ('red ball', *contrast_phrases('red ball', classes))])
    texts = torch.cat([texts[:1], tiny_encoder.encode_text(
        list(GrounderConfig().background_prompts)), texts[1:]])
    expected = torch.softmax(tiny_encoder.logit_scale * image @ texts.T, dim=-1)[0, 0].item()
    assert result.best.score == pytest.approx(expected, abs=1e-4)
    same_box = plain.ground(_frame(), 'red ball')
    assert max(c.score for c in result.candidates) < max(c.score for c in same_box.candidates)


def test_threshold_decides_found_or_no_match(tiny_encoder):
    always = Grounder(tiny_encoder, GrounderConfig(score_threshold=0.0)).ground(_frame(), 'box')
    never = Grounder(tiny_encoder, GrounderConfig(score_threshold=1.0)).ground(_frame(), 'box')
    assert always.found and not never.found
    assert 'below the threshold' in never.message and never.best is not None


def test_phrase_is_encoded_once_not_per_frame(tiny_model_dir):
    from clip_grounding_ros.core.perception.model import load_encoder

    encoder = load_encoder(tiny_model_dir, device='cpu')
    grounder = Grounder(encoder, GrounderConfig(strategy='hybrid'))
    grounder.ground(_frame(0), 'green cylinder')
    misses = encoder.text_cache_misses
    for seed in range(1, 4):
        grounder.ground(_frame(seed), 'green cylinder')
    assert encoder.text_cache_misses == misses


def test_prompt_templates_are_averaged(tiny_encoder):
    config = GrounderConfig(prompt_templates=('a photo of a {}.', 'the {}'))
    embedding = Grounder(tiny_encoder, config).phrase_embedding('blue box')
    parts = tiny_encoder.encode_text(['a photo of a blue box.', 'the blue box'])
    expected = parts.mean(0) / parts.mean(0).norm()
    assert torch.allclose(embedding, expected, atol=1e-6)


@pytest.mark.parametrize('image, message', [
    (np.zeros((1, 1, 3), np.uint8), 'too small'),
    (np.zeros((0, 0, 3), np.uint8), 'too small'),
    (np.zeros((10, 10, 5), np.uint8), 'expected an'),
    (np.zeros((9000, 9000), np.uint8), 'too large'),
])
def test_unusable_images_raise_image_errors(tiny_encoder, image, message):
    with pytest.raises(ImageError, match=message):
        Grounder(tiny_encoder).ground(image, 'box')


def test_grey_rgba_and_tiny_images_are_accepted(tiny_encoder):
    grounder = Grounder(tiny_encoder)
    assert grounder.ground(np.zeros((240, 320), np.uint8), 'box').image_size == (320, 240)
    assert grounder.ground(np.zeros((60, 80, 4), np.uint8), 'box').image_size == (80, 60)
    assert grounder.ground(np.zeros((2, 2, 3), np.uint8), 'box').candidates


def test_empty_phrase_is_an_error(tiny_encoder):
    with pytest.raises(ValueError, match='empty'):
        Grounder(tiny_encoder).ground(_frame(), '  ')


@pytest.mark.parametrize('kwargs, message', [
    ({'strategy': 'magic'}, 'strategy'),
    ({'score_threshold': 1.5}, 'score_threshold'),
    ({'background_prompts': ()}, 'background_prompts'),
    ({'prompt_templates': ('no placeholder',)}, 'template'),
    ({'max_crops': 0}, 'max_crops'),
    ({'crop_context': -1.0}, 'crop_context'),
    ({'contrast_classes': 'box,cube'}, 'two classes'),
    ({'contrast_classes': 'box|Ball'}, 'lower-case letters'),
    ({'contrast_classes': 'box|ball,box'}, "holds \\['box'\\] twice"),
])
def test_invalid_config(kwargs, message):
    with pytest.raises(ValueError, match=message):
        GrounderConfig(**kwargs)


def test_classification_ranks_prompts_with_probabilities(tiny_encoder):
    prompts = ['a photo of a cat', 'a photo of a dog', 'a photo of a bird']
    ranked = Grounder(tiny_encoder).classify(_frame(), prompts)
    assert sorted(p for p, _ in ranked) == sorted(prompts)
    probabilities = [p for _, p in ranked]
    assert probabilities == sorted(probabilities, reverse=True)
    assert sum(probabilities) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize('prompts', [[], ['only one'], ['a', ' ']])
def test_classification_needs_two_prompts(tiny_encoder, prompts):
    with pytest.raises(ValueError, match='two'):
        Grounder(tiny_encoder).classify(_frame(), prompts)


def test_a_declared_vocabulary_refuses_unknown_words(tiny_model_dir, tmp_path):
    import json
    import shutil

    from clip_grounding_ros.core.perception.encoder import VOCABULARY_FILE
    from clip_grounding_ros.core.perception.grounding import UnknownWordsError
    from clip_grounding_ros.core.perception.model import load_encoder

    folder = tmp_path / 'closed'
    shutil.copytree(tiny_model_dir, folder)
    (folder / VOCABULARY_FILE).write_text(json.dumps(['blue', 'box', 'red', 'ball']))
    encoder = load_encoder(str(folder), device='cpu')
    grounder = Grounder(encoder, GrounderConfig(strategy='crops'))
    assert grounder.ground(_frame(), 'Blue box').candidates
    with pytest.raises(UnknownWordsError, match="'piano'") as error:
        grounder.ground(_frame(), 'red piano')
    assert 'closed vocabulary of 4 words' in str(error.value)
    # Classification prompts are words the model must read too.
    assert grounder.classify(_frame(), ['blue box', 'red ball'])
    with pytest.raises(UnknownWordsError, match="'cat'"):
        grounder.classify(_frame(), ['blue box', 'cat'])
    assert load_encoder(tiny_model_dir, device='cpu').vocabulary is None  # open vocabulary


def test_more_candidates_are_kept_when_a_count_needs_them(tiny_encoder):
    grounder = Grounder(tiny_encoder, GrounderConfig(strategy='crops', top_k=2))
    assert len(grounder.ground(_frame(), 'blue box').candidates) == 2
    # 'the fourth box from the left' needs four to count.
    assert len(grounder.ground(_frame(), 'blue box', at_least=4).candidates) == 4
