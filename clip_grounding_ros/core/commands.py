"""Spoken-style commands to an intent and the phrase CLIP should ground.

"Please drive to the red ball!" -> Command(intent='approach', target='red ball').
The grammar is deliberately small and explicit: a robot should refuse what it does not
understand rather than guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum


class Intent(str, Enum):
    """What a command asks for."""

    APPROACH = 'approach'  # drive to the target and stop short of it
    FACE = 'face'          # turn in place toward the target
    FIND = 'find'          # turn toward the target once it is found
    PICK = 'pick'          # approach (grasping needs an arm; not part of this package)
    STOP = 'stop'
    CLASSIFY = 'classify'  # zero-shot classification of each frame

    def __str__(self) -> str:
        return self.value


# Verb phrases per intent; longer phrases are tried first, so "go to" wins over "go".
_VERBS = {
    Intent.APPROACH: (
        'go to', 'go towards', 'go toward', 'go near', 'drive to', 'drive towards',
        'drive toward', 'move to', 'move towards', 'move toward', 'navigate to', 'head to',
        'head towards', 'head toward', 'head for', 'come to', 'get to', 'walk to', 'approach',
        'reach', 'take me to', 'bring me to'),
    Intent.FACE: ('look at', 'face', 'turn to', 'turn towards', 'turn toward', 'point at',
                  'point to', 'watch', 'track'),
    Intent.FIND: ('find', 'search for', 'look for', 'locate', 'where is', "where's", 'seek'),
    Intent.PICK: ('pick up', 'pick', 'grab', 'grasp', 'fetch', 'get', 'collect'),
    Intent.CLASSIFY: ('classify', 'what is this', 'what is it', 'is this', 'which is it',
                      'which one is it', 'recognise', 'recognize'),
}
_STOP_WORDS = ('stop', 'halt', 'freeze', 'cancel', 'abort', 'stay', 'stay there',
               'stand still', 'emergency stop', 'e-stop', 'stop moving', 'stop now')
_POLITE_PREFIXES = ('hey robot', 'ok robot', 'okay robot', 'robot', 'please', 'could you',
                    'can you', 'would you', 'will you', 'kindly', 'now', 'then', 'and')
_POLITE_SUFFIXES = ('please', 'now', 'for me', 'right now', 'quickly', 'slowly')
_ARTICLES = ('the', 'a', 'an', 'that', 'this', 'those', 'these', 'some', 'my', 'your')
_VERB_TABLE = sorted(((verb, intent) for intent, verbs in _VERBS.items() for verb in verbs),
                     key=lambda item: -len(item[0]))
_EXAMPLE = {Intent.APPROACH: 'go to the blue box', Intent.FACE: 'look at the person',
            Intent.FIND: 'find the yellow cube', Intent.PICK: 'pick up the red apple',
            Intent.STOP: 'stop', Intent.CLASSIFY: 'classify: a cat, a dog, a bird'}
EXAMPLES = tuple(_EXAMPLE.values())


class CommandError(ValueError):
    """The command was empty or not understood; the message suggests what works."""


@dataclass(frozen=True)
class Command:
    """A parsed command: what to do (intent) and with what (target phrase or prompts)."""

    intent: Intent
    target: str = ''
    prompts: tuple[str, ...] = field(default_factory=tuple)
    text: str = ''

    @property
    def moves_base(self) -> bool:
        """Whether the command drives the base toward the target (not only turns)."""
        return self.intent in (Intent.APPROACH, Intent.PICK)


def _normalise(text: str) -> str:
    text = text.strip().lower().replace('’', "'")
    text = re.sub(r'[!?.]+$', '', text).strip()
    return re.sub(r'\s+', ' ', text)


def _strip_words(text: str, words: tuple[str, ...], at_start: bool) -> str:
    """Remove any of ``words`` (and a following/preceding comma) repeatedly from one end."""
    changed = True
    while changed and text:
        changed = False
        for word in words:
            escaped = re.escape(word)
            pattern = rf'^{escaped}\b[,]?\s*' if at_start else rf'[,]?\s*\b{escaped}$'
            stripped = re.sub(pattern, '', text).strip()
            if stripped != text:
                text, changed = stripped, True
    return text


def _noun_phrase(text: str) -> str:
    text = text.strip(' ,:;')
    return _strip_words(text, _ARTICLES, at_start=True)


def _split_prompts(text: str) -> tuple[str, ...]:
    parts = re.split(r'\s*(?:[,;|/]|\bor\b)\s*', text.strip(' :'))
    return tuple(p.strip() for p in parts if p.strip())


def parse_command(text: str) -> Command:
    """Parse a command; raise :class:`CommandError` when it is empty or not understood."""
    if text is None or not str(text).strip():
        raise CommandError('empty command; try for example: ' + '; '.join(EXAMPLES))
    raw = str(text)
    normal = _strip_words(_normalise(raw), _POLITE_PREFIXES, at_start=True)
    normal = _strip_words(normal, _POLITE_SUFFIXES, at_start=False)
    if normal in _STOP_WORDS or re.fullmatch(r'(stop|halt)\b.*', normal):
        return Command(Intent.STOP, text=raw)
    for verb, intent in _VERB_TABLE:
        match = re.match(rf'{re.escape(verb)}\b[:,]?\s*(.*)$', normal)
        if not match:
            continue
        rest = match.group(1)
        if intent == Intent.CLASSIFY:
            prompts = _split_prompts(rest)
            if len(prompts) < 2:
                raise CommandError(f"'{raw}': classification needs at least two prompts, "
                                   f"e.g. '{_EXAMPLE[Intent.CLASSIFY]}'")
            return Command(Intent.CLASSIFY, prompts=prompts, text=raw)
        target = _noun_phrase(rest)
        if not target:
            raise CommandError(f"'{raw}': no object named after '{verb}'; say which one, "
                               f"e.g. '{_EXAMPLE[intent]}'")
        return Command(intent, target=target, text=raw)
    raise CommandError(f"'{raw}' is not a command I understand; try for example: "
                       + '; '.join(EXAMPLES))
