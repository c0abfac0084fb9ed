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
Grounding a phrase in an image with CLIP, and zero-shot classification.

Strategies (all return boxes in source-image pixels):
- ``crops``: class-agnostic proposals, each cropped and scored by the image encoder in
  batches (accurate, cost grows with the number of crops);
- ``dense``: one pass; every patch is compared with the phrase (MaskCLIP-style) and the
  region around the best patch becomes the box (cheap, coarse);
- ``hybrid``: the dense map ranks the proposals and only the best few are crop-scored.

A region's score is the probability that it shows the phrase rather than one of the
background prompts ("the floor", "a wall", ...), so "nothing here matches" is a score below
``score_threshold`` and not a random best box. With ``contrast_classes`` the phrase also
competes with itself said with each other class of its words ("green box" with "green ball",
"red box"): a green ball is then no green box however much it looks like one, and a phrase
whose object is absent stays unmatched where a look-alike is in view (a contrast set, as in
ReCLIP's and contrastive-prompt calibration).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
import re
import time

import cv2
import numpy as np
import torch

from .encoder import ImageTextEncoder
from .images import check_rgb
from .proposals import nms, ProposalConfig, propose, square_crop
from ..contract.parameters import setting, Settings


class Strategy(str, Enum):
    """How image regions are found and scored (the ``strategy`` parameter)."""

    CROPS = 'crops'    # class-agnostic proposals, each cropped and scored
    DENSE = 'dense'    # one pass: the patch map's high-probability blob
    HYBRID = 'hybrid'  # the patch map ranks the proposals, the best few are crop-scored

    def __str__(self) -> str:
        return self.value


DEFAULT_BACKGROUND_PROMPTS = ('a photo of the floor.', 'a photo of a wall.',
                              'a photo of an empty room.')
DEFAULT_TEMPLATES = ('a photo of a {}.',)
DEFAULT_OBJECT_PROMPTS = ('a photo of an object.',)


@dataclass(frozen=True)
class Candidate:
    """
    One scored region: box (x1, y1, x2, y2) in source pixels and its target probability.

    ``embedding``: the region's unit CLIP image embedding (D,) float32 where a crop of it was
    encoded (crops, hybrid), None otherwise (dense); the object memory keeps it.
    """

    box: tuple[float, float, float, float]
    score: float
    embedding: np.ndarray | None = field(default=None, compare=False, repr=False)

    def as_dict(self) -> dict:
        return {'box': [round(v, 1) for v in self.box], 'score': round(self.score, 4)}


@dataclass
class GroundingResult:
    """Where ``phrase`` is in the image, or why it was not found."""

    phrase: str
    strategy: Strategy
    found: bool
    candidates: list[Candidate]       # best first; the first is the answer when found
    score_threshold: float
    image_size: tuple[int, int]       # (width, height) of the grounded image
    timings_ms: dict[str, float] = field(default_factory=dict)

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None

    @property
    def matches(self) -> list[Candidate]:
        """
        Return the candidates that reach the threshold, best first.

        Empty when not found. This is what a detection topic reports.
        """
        return [c for c in self.candidates if c.score >= self.score_threshold] \
            if self.found else []

    @property
    def message(self) -> str:
        if self.best is None:
            return f"no candidate regions for '{self.phrase}'"
        if self.found:
            return f"found '{self.phrase}' (score {self.best.score:.2f})"
        return (f"no '{self.phrase}' in view: best score {self.best.score:.2f} is below the "
                f'threshold {self.score_threshold:.2f}')


@dataclass(frozen=True)
class GrounderConfig(Settings):
    """Everything that shapes grounding; the settings are grounding node parameters."""

    strategy: Strategy = setting(
        Strategy.HYBRID, 'Region strategy: crops (score proposals), dense (one-pass patch map) '
        'or hybrid (map ranks proposals, crops re-rank the best)')
    score_threshold: float = setting(0.5, 'Minimum probability that a region shows the phrase '
                                     'rather than a background prompt; below it nothing '
                                     'matches', minimum=0.0, maximum=1.0)
    background_prompts: tuple[str, ...] = setting(
        DEFAULT_BACKGROUND_PROMPTS, 'Prompts the phrase competes with in each region ("nothing '
        'here matches" when they win)')
    object_prompts: tuple[str, ...] = setting(
        DEFAULT_OBJECT_PROMPTS, 'Prompts of any object: a region more like one of them than '
        'like the background prompts is an object the object memory keeps (a closed-'
        "vocabulary model needs its own words, e.g. 'a photo of a box.')")
    prompt_templates: tuple[str, ...] = setting(
        DEFAULT_TEMPLATES, "Templates with '{}' for the phrase; the embeddings of all templates "
        'are averaged')
    contrast_classes: str = setting(
        '', "Word classes a phrase is told apart from: groups separated by ';', the classes of "
        "a group by '|', synonyms by ',' (e.g. 'box,cube|ball,sphere; red|green'). Each "
        'phrase word in a group makes the phrase compete with itself said with each other '
        'class of that group; empty: the background prompts only')
    max_crops: int = setting(48, 'Most proposals scored per frame (crops strategy)',
                             minimum=1, maximum=1024)
    colour_proposals: int = setting(0, 'Colour-segment proposals ranked before the '
                                    'segmentation ones: a world of flat colours (the '
                                    "simulator) is found best by colour, a real camera's by "
                                    'segmentation; 0 for real images', minimum=0,
                                    maximum=1024)
    hybrid_crops: int = setting(8, 'Proposals re-ranked by crops (hybrid)', minimum=1,
                                maximum=1024)
    crop_context: float = setting(0.15, 'Context margin around each crop, fraction of the box '
                                  'size on each side', minimum=0.0, maximum=2.0)
    dense_short_side: int = setting(0, "Short side (px) of the dense pass' input; 0 uses the "
                                    "model's input size", minimum=0, maximum=4096)
    crop_batch_size: int = 32
    top_k: int = 5
    proposals: ProposalConfig = ProposalConfig()

    def problems(self) -> list[str]:
        """Return what is wrong with the values, the rules between them included."""
        problems = super().problems()
        if not self.background_prompts or not all(p.strip() for p in self.background_prompts):
            problems.append('background_prompts must hold at least one non-empty prompt')
        if not self.object_prompts or not all(p.strip() for p in self.object_prompts):
            problems.append('object_prompts must hold at least one non-empty prompt')
        if not self.prompt_templates or not all('{}' in t for t in self.prompt_templates):
            problems.append("every prompt template must contain '{}' for the phrase")
        try:
            parse_contrast_classes(self.contrast_classes)
        except ValueError as error:
            problems.append(str(error))
        for name in ('crop_batch_size', 'top_k'):
            if getattr(self, name) < 1:
                problems.append(f'{name} must be at least 1')
        return problems


def parse_contrast_classes(text: str) -> list[list[tuple[str, ...]]]:
    """
    Return the groups of ``contrast_classes`` (GrounderConfig): each a list of classes.

    A class is a tuple of synonyms, the first one said in contrasts. ValueError for a group
    of fewer than two classes, a word that is not lower-case letters, or a word twice in a
    group.
    """
    groups = []
    for group_text in filter(str.strip, text.split(';')):
        group = [tuple(w.strip() for w in c.split(',') if w.strip())
                 for c in group_text.split('|')]
        group = [c for c in group if c]
        words = [w for c in group for w in c]
        if len(group) < 2:
            raise ValueError(f"contrast_classes group '{group_text.strip()}' needs two classes "
                             "or more, separated by '|'")
        bad = [w for w in words if not re.fullmatch(r'[a-z]+', w)]
        if bad:
            raise ValueError(f'contrast_classes words must be lower-case letters: {bad}')
        twice = sorted({w for w in words if words.count(w) > 1})
        if twice:
            raise ValueError(f"contrast_classes group '{group_text.strip()}' holds {twice} "
                             'twice')
        groups.append(group)
    return groups


def contrast_phrases(phrase: str, classes: str) -> list[str]:
    """
    Return ``phrase`` said with each other class of each group one of its words is in.

    'green box' with 'box,cube|ball|cylinder; red|green' gives 'green ball', 'green
    cylinder', 'red box'. Words in no group, and phrases with none, give nothing.
    """
    words = phrase.lower().split()
    contrasts = []
    for group in parse_contrast_classes(classes):
        for index, word in enumerate(words):
            own = next((c for c in group if word in c), None)
            if own is None:
                continue
            contrasts += [' '.join([*words[:index], other[0], *words[index + 1:]])
                          for other in group if other is not own]
    return list(dict.fromkeys(c for c in contrasts if c != ' '.join(words)))


class UnknownWordsError(ValueError):
    """The phrase uses words a closed-vocabulary model was never trained on."""


class Grounder:
    """Grounds phrases and classifies frames with one :class:`ImageTextEncoder`."""

    def __init__(self, encoder: ImageTextEncoder, config: GrounderConfig = GrounderConfig()):
        self.encoder = encoder
        self.config = config

    # -- text ---------------------------------------------------------------------------
    def phrase_embedding(self, phrase: str) -> torch.Tensor:
        """Embed the phrase in every prompt template, averaged (prompt ensembling), unit norm."""
        phrase = phrase.strip()
        if not phrase:
            raise ValueError('the phrase to ground is empty')
        self._check_vocabulary(phrase)
        prompts = [template.format(phrase) for template in self.config.prompt_templates]
        mean = self.encoder.encode_text(prompts).mean(dim=0)
        return mean / mean.norm().clamp_min(1e-12)

    def _check_vocabulary(self, phrase: str) -> None:
        """
        Refuse words outside the model's declared vocabulary.

        A model that declares its vocabulary cannot score other words meaningfully (an
        unseen word embeds arbitrarily and may match anything), so refuse them.
        """
        vocabulary = self.encoder.vocabulary
        if vocabulary is None:
            return
        unknown = [w for w in re.findall(r'[a-z]+', phrase.lower()) if w not in vocabulary]
        if unknown:
            raise UnknownWordsError(
                f"this model does not know {', '.join(repr(w) for w in unknown)}: it was "
                f"trained on a closed vocabulary of {len(vocabulary)} words (the simulator's "
                'colours and shapes); use a CLIP model for open-vocabulary commands')

    def _text_bank(self, phrase: str) -> torch.Tensor:
        """
        Rows: the phrase, the background prompts, its contrasts (all cached by the encoder).

        A contrast with a word the model does not know is left out (it could not compete).
        """
        backgrounds = self.encoder.encode_text(list(self.config.background_prompts))
        contrasts = []
        for contrast in contrast_phrases(phrase, self.config.contrast_classes):
            try:
                contrasts.append(self.phrase_embedding(contrast))
            except UnknownWordsError:
                continue
        rows = [self.phrase_embedding(phrase)[None], backgrounds]
        return torch.cat(rows + ([torch.stack(contrasts)] if contrasts else []))

    def score_embeddings(self, embeddings: np.ndarray, phrase: str) -> np.ndarray:
        """
        P(phrase | region) (N,) for stored region embeddings (N, D), as :meth:`ground` scores.

        The object memory's query: the same bank (background prompts, contrasts) and so the
        same ``score_threshold`` semantics as live grounding.
        """
        bank = self._text_bank(phrase)
        rows = torch.from_numpy(np.array(embeddings, dtype=np.float32))  # a copy: may be read-only
        return self._target_probability(rows.to(bank.dtype), bank)

    def objectness(self, embeddings: np.ndarray) -> np.ndarray:
        """
        P(an object | region) (N,) for region embeddings (N, D): the object prompts' share.

        Softmax over ``object_prompts`` and ``background_prompts``; walls, floor and empty
        space score near 0 (measured on a demo's memory with the bundled model: real objects
        0.99-1.0, wall and floor regions 0.0-0.07).
        """
        prompts = list(self.config.object_prompts)
        bank = self.encoder.encode_text(prompts + list(self.config.background_prompts))
        rows = torch.from_numpy(np.array(embeddings, dtype=np.float32)).to(bank.dtype)
        logits = self.encoder.logit_scale * rows.reshape(-1, bank.shape[1]) @ bank.T
        return torch.softmax(logits, dim=-1)[:, :len(prompts)].sum(dim=-1).cpu().numpy()

    def _target_probability(self, embeddings: torch.Tensor, bank: torch.Tensor) -> np.ndarray:
        """P(phrase | region) against the background prompts and contrasts, per row."""
        logits = self.encoder.logit_scale * embeddings.reshape(-1, bank.shape[1]) @ bank.T
        return torch.softmax(logits, dim=-1)[:, 0].cpu().numpy()

    # -- grounding ----------------------------------------------------------------------
    def ground(self, image: np.ndarray, phrase: str, at_least: int = 0) -> GroundingResult:
        """
        Find ``phrase`` in ``image`` (RGB uint8) with the configured strategy.

        Keeps the ``top_k`` best candidates, or ``at_least`` when more are needed (the
        fifth box from the left needs five at least).
        """
        start = time.perf_counter()
        image = check_rgb(image)
        timings: dict[str, float] = {}
        tic = time.perf_counter()
        bank = self._text_bank(phrase)
        timings['text_ms'] = timed_ms(tic)
        strategy = self.config.strategy
        embeddings = None
        if strategy == Strategy.DENSE:
            boxes, scores = self._dense_regions(image, bank, timings)
        else:
            tic = time.perf_counter()
            proposals = propose(image, self.config.proposals, self.config.max_crops,
                                self.config.colour_proposals)
            timings['proposals_ms'] = timed_ms(tic)
            if strategy == Strategy.HYBRID and len(proposals) > self.config.hybrid_crops:
                tic = time.perf_counter()
                probability_map = self._probability_map(image, bank)
                # The map's own blobs are proposals too: what the phrase lights up, whatever
                # the segmentation made of it.
                proposals = np.concatenate([_map_components(probability_map), proposals])
                proposals = _rank_by_map(proposals, probability_map)[:self.config.hybrid_crops]
                timings['dense_ms'] = timed_ms(tic)
            boxes, scores, embeddings = self._score_crops(image, proposals, bank, timings)
        keep = nms(boxes, scores, 0.5)[:max(self.config.top_k, at_least)] if len(boxes) \
            else []
        candidates = [Candidate(tuple(float(v) for v in boxes[i]), float(scores[i]),
                                None if embeddings is None else embeddings[i])
                      for i in keep]
        timings['total_ms'] = timed_ms(start)
        found = bool(candidates) and candidates[0].score >= self.config.score_threshold
        return GroundingResult(phrase.strip(), strategy, found, candidates,
                               self.config.score_threshold,
                               (image.shape[1], image.shape[0]), timings)

    def _score_crops(self, image: np.ndarray, boxes: np.ndarray, bank: torch.Tensor,
                     timings: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return the boxes, their P(phrase) and their unit crop embeddings (N, D) float32."""
        if len(boxes) == 0:
            return boxes, np.zeros(0), np.zeros((0, bank.shape[1]), np.float32)
        tic = time.perf_counter()
        crops = [square_crop(image, box, self.encoder.image_size, self.config.crop_context)
                 for box in boxes]
        embeddings = self.encoder.encode_images(crops, batch_size=self.config.crop_batch_size)
        timings['crops_ms'] = timed_ms(tic)
        timings['crops'] = float(len(crops))
        return boxes, self._target_probability(embeddings, bank), \
            embeddings.float().cpu().numpy()

    def _probability_map(self, image: np.ndarray, bank: torch.Tensor) -> np.ndarray:
        """Per-pixel P(phrase), from the patch grid bilinearly resized to the image."""
        grid, _ = self.encoder.encode_dense(image, self.config.dense_short_side or None)
        patch_probability = self._target_probability(grid, bank).reshape(grid.shape[:2])
        height, width = image.shape[:2]
        return cv2.resize(patch_probability.astype(np.float32), (width, height),
                          interpolation=cv2.INTER_LINEAR)

    def _dense_regions(self, image: np.ndarray, bank: torch.Tensor,
                       timings: dict) -> tuple[np.ndarray, np.ndarray]:
        """Boxes of the high-probability blobs of the dense map, scored by their peak."""
        tic = time.perf_counter()
        probability_map = self._probability_map(image, bank)
        boxes, scores = _map_components(probability_map, with_peaks=True)
        timings['dense_ms'] = timed_ms(tic)
        return boxes, scores

    # -- classification -----------------------------------------------------------------
    def prompt_embeddings(self, prompts: Sequence[str]) -> torch.Tensor:
        """
        (P, D) unit embeddings of classification prompts, used as given (no templates).

        ValueError for fewer than two or empty prompts; UnknownWordsError for words
        outside a closed-vocabulary model's vocabulary, as for grounding phrases.
        """
        prompts = [p.strip() for p in prompts]
        if len(prompts) < 2 or not all(prompts):
            raise ValueError('classification needs at least two non-empty prompts')
        for prompt in prompts:
            self._check_vocabulary(prompt)
        return self.encoder.encode_text(prompts)

    def classify(self, image: np.ndarray, prompts: Sequence[str]) -> list[tuple[str, float]]:
        """Zero-shot classification: prompts ranked by softmax probability, best first."""
        prompts = [p.strip() for p in prompts]
        text = self.prompt_embeddings(prompts)
        image_embedding = self.encoder.encode_images([check_rgb(image)])
        logits = self.encoder.logit_scale * image_embedding @ text.T
        probabilities = torch.softmax(logits[0], dim=-1).cpu().numpy()
        order = np.argsort(-probabilities, kind='stable')
        return [(prompts[i], float(probabilities[i])) for i in order]


def _map_components(probability_map: np.ndarray, with_peaks: bool = False):
    """
    Return the boxes (N, 4) of the map's blobs at half its peak or more, in pixels.

    With ``with_peaks`` also each blob's peak probability (N,).
    """
    peak = float(probability_map.max())
    mask = (probability_map >= 0.5 * peak).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    boxes = np.array([(x, y, x + w, y + h) for x, y, w, h, _ in stats[1:count]],
                     dtype=np.float64).reshape(-1, 4)
    if not with_peaks:
        return boxes
    return boxes, np.array([float(probability_map[labels == label].max())
                            for label in range(1, count)])


def _rank_by_map(boxes: np.ndarray, probability_map: np.ndarray) -> np.ndarray:
    """Boxes sorted by the mean dense probability inside them, best first."""
    integral = cv2.integral(probability_map.astype(np.float64))
    x1, y1, x2, y2 = (np.clip(np.round(boxes[:, i]).astype(int), 0, None) for i in range(4))
    height, width = probability_map.shape
    x2, y2 = np.minimum(np.maximum(x2, x1 + 1), width), np.minimum(np.maximum(y2, y1 + 1), height)
    x1, y1 = np.minimum(x1, x2 - 1), np.minimum(y1, y2 - 1)
    sums = integral[y2, x2] - integral[y1, x2] - integral[y2, x1] + integral[y1, x1]
    means = sums / ((x2 - x1) * (y2 - y1))
    return boxes[np.argsort(-means, kind='stable')]


def timed_ms(start: float) -> float:
    """Milliseconds since ``start`` (a ``time.perf_counter()`` value)."""
    return (time.perf_counter() - start) * 1000.0
