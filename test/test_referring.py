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
Referring expressions over grounded candidates.

Each relation's rule on hand-made scenes, the image fall-backs, ties, duplicates, errors, the
ambiguity rule and association.

Scenes are chosen so that a wrong rule picks another candidate: e.g. the metric-size test's
biggest object is the smallest in pixels, and bearing and image x disagree where the
bearing must win.
"""

from dataclasses import dataclass
from enum import Enum
import math

from clip_grounding_ros.core.language.steps import Referring, Relation
from clip_grounding_ros.core.perception.grounding import Candidate
from clip_grounding_ros.core.perception.referring import (
    associate,
    choose_among_matches,
    MAX_EXPLANATION,
    place_candidate,
    Placed,
    ResolutionError,
    resolve,
)
from clip_grounding_ros.core.world.camera import CameraMount, Intrinsics
import numpy as np
import pytest


def at(centre_x, bottom=200.0, half_width=20.0, height=60.0, score=0.9, position=None,
       width=None):
    """Make a candidate: box centred on column ``centre_x``, bottom edge at ``bottom``."""
    box = (centre_x - half_width, bottom - height, centre_x + half_width, bottom)
    return Placed(box, score, position, width)


def pick(relation, candidates, **options):
    return resolve(Referring(relation), candidates, **options)


# -- left, right, middle ------------------------------------------------------------------
def test_leftmost_and_rightmost_by_image_column_with_explanation():
    boxes = [at(410), at(120), at(260)]
    left = pick(Relation.LEFTMOST, boxes, phrase='red box')
    assert (left.index, left.competitors) == (1, (2, 0))
    assert left.explanation == ("3 matches for 'red box'; chose the one on the left "
                                '(x=120 px vs 260 px, 410 px)')
    right = pick(Relation.RIGHTMOST, boxes)
    assert (right.index, right.competitors) == (0, (2, 1))
    assert right.explanation == ('3 matches; chose the one on the right '
                                 '(x=410 px vs 260 px, 120 px)')


def test_left_and_right_use_the_bearing_when_every_candidate_is_placed():
    # A yawed camera: image order and the robot's left-right order disagree.
    boxes = [at(100, position=(2.0, -0.5)), at(300, position=(2.0, 1.0))]
    left = pick(Relation.LEFTMOST, boxes)
    assert left.index == 1
    assert left.explanation == '2 matches; chose the one on the left (bearing +27° vs -14°)'
    assert pick(Relation.RIGHTMOST, boxes).index == 0


def test_one_unplaced_candidate_sends_left_and_right_back_to_the_image():
    boxes = [at(100, position=(2.0, -0.5)), at(300, position=None)]
    assert pick(Relation.LEFTMOST, boxes).index == 0


def test_middle_is_the_box_nearest_the_image_centre():
    boxes = [at(100), at(500), at(300)]
    choice = pick(Relation.MIDDLE, boxes, image_width=640)
    assert choice.index == 2
    assert choice.explanation.startswith('3 matches; chose the one in the middle (x=300 px vs ')
    # The image centre, not the middle of the group: with the group off to the left the
    # box nearest the centre wins.
    assert pick(Relation.MIDDLE, [at(40), at(100), at(160)], image_width=640).index == 2


def test_middle_with_positions_is_the_one_straight_ahead():
    boxes = [at(100, position=(2.0, 0.6)), at(200, position=(2.0, -0.1)),
             at(300, position=(2.0, -0.9))]
    assert pick(Relation.MIDDLE, boxes).index == 1  # no image width needed


def test_middle_without_positions_needs_the_image_width():
    with pytest.raises(ResolutionError, match='image width'):
        pick(Relation.MIDDLE, [at(100), at(300)])


# -- ordinals -----------------------------------------------------------------------------
def test_ordinals_count_from_the_left_or_the_right():
    boxes = [at(300), at(100), at(500), at(200)]
    second = resolve(Referring(Relation.ORDINAL_LEFT, ordinal=2), boxes, phrase='box')
    assert (second.index, second.competitors) == (3, (1, 0, 2))
    assert second.explanation == ("4 matches for 'box'; chose the 2nd one from the left "
                                  '(x=200 px vs 100 px, 300 px, 500 px)')
    first_right = resolve(Referring(Relation.ORDINAL_RIGHT, ordinal=1), boxes)
    assert (first_right.index, first_right.competitors) == (2, (0, 3, 1))
    third_right = resolve(Referring(Relation.ORDINAL_RIGHT, ordinal=3), boxes)
    assert third_right.index == 3
    assert '3rd one from the right' in third_right.explanation


def test_ordinals_follow_the_bearing_like_leftmost_when_placed():
    boxes = [at(100, position=(2.0, -0.5)), at(300, position=(2.0, 1.0)),
             at(200, position=(2.0, 0.2))]
    first = resolve(Referring(Relation.ORDINAL_LEFT, ordinal=1), boxes)
    assert first.index == pick(Relation.LEFTMOST, boxes).index == 1
    assert resolve(Referring(Relation.ORDINAL_LEFT, ordinal=2), boxes).index == 2


@pytest.mark.parametrize('ordinal', [0, 3])
def test_an_ordinal_beyond_the_count_is_an_error(ordinal):
    with pytest.raises(ResolutionError) as error:
        resolve(Referring(Relation.ORDINAL_LEFT, ordinal=ordinal), [at(100), at(300)],
                phrase='box')
    if ordinal:
        assert str(error.value) == "2 matches for 'box' in view: there is no 3rd box from the left"


# -- near, far, big, small ----------------------------------------------------------------
def test_nearest_and_farthest_by_range():
    boxes = [at(100, bottom=150, position=(3.0, 0.5)), at(300, bottom=230, position=(1.2, 0.0)),
             at(500, bottom=180, position=(2.0, -1.5))]
    nearest = pick(Relation.NEAREST, boxes)
    assert (nearest.index, nearest.competitors) == (1, (2, 0))
    assert nearest.explanation == '3 matches; chose the nearest one (1.20 m vs 2.50 m, 3.04 m)'
    assert pick(Relation.FARTHEST, boxes).index == 0


def test_nearest_without_ranges_is_the_lowest_box_and_says_so():
    boxes = [at(100, bottom=150), at(300, bottom=230, position=(1.0, 0.0)), at(500, bottom=180)]
    nearest = pick(Relation.NEAREST, boxes)
    assert nearest.index == 1
    assert nearest.explanation == ('3 matches; chose the nearest one (bottom y=230 px vs 180 px, '
                                   '150 px; no range: lower in the image is nearer)')
    assert pick(Relation.FARTHEST, boxes).index == 0


def test_biggest_and_smallest_by_metric_width():
    # The far crate is the biggest object but the smallest box in the image.
    boxes = [at(100, half_width=40, position=(1.0, 0.3), width=0.30),
             at(300, half_width=15, position=(5.0, 0.0), width=0.60),
             at(500, half_width=30, position=(2.0, -0.5), width=0.45)]
    biggest = pick(Relation.BIGGEST, boxes)
    assert (biggest.index, biggest.competitors) == (1, (2, 0))
    assert biggest.explanation == ('3 matches; chose the biggest one '
                                   '(width 0.60 m vs 0.45 m, 0.30 m)')
    assert pick(Relation.SMALLEST, boxes).index == 0


def test_biggest_without_widths_is_the_largest_pixel_area_and_says_so():
    boxes = [at(100, half_width=40, width=0.30), at(300, half_width=15),
             at(500, half_width=30, height=100)]
    biggest = pick(Relation.BIGGEST, boxes)
    assert biggest.index == 2
    assert biggest.explanation == ('3 matches; chose the biggest one (area 6000 px² vs 4800 px², '
                                   '1800 px²; no range: by pixel area)')
    assert pick(Relation.SMALLEST, boxes).index == 1


# -- relations to a reference object --------------------------------------------------------
BALL = at(300, score=0.8, position=(2.0, 0.0))


def test_next_to_is_the_closest_other_object_and_excludes_the_reference_itself():
    boxes = [at(100, position=(2.0, 1.2)),
             at(301, position=(2.0, 0.0)),   # the red ball itself, also grounded as "box"
             at(420, position=(2.3, -0.4)),
             at(550, position=(1.0, -1.5))]
    references = [at(100, score=0.6, position=(2.0, 1.2)), BALL]  # the best one is the ball
    choice = resolve(Referring(Relation.NEXT_TO, 'red ball'), boxes, references, phrase='box')
    assert (choice.index, choice.competitors) == (2, (0, 3))
    assert choice.explanation == ("3 matches for 'box'; chose the one next to the red ball "
                                  '(0.50 m from it vs 1.20 m, 1.80 m)')


def test_left_of_and_right_of_are_seen_from_the_robot():
    boxes = [at(100, position=(2.0, 1.5)), at(200, position=(2.2, 0.6)),
             at(400, position=(1.8, -0.7))]
    left = resolve(Referring(Relation.LEFT_OF, 'red ball'), boxes, [BALL])
    assert (left.index, left.competitors) == (1, (0,))
    right = resolve(Referring(Relation.RIGHT_OF, 'red ball'), boxes, [BALL])
    assert (right.index, right.competitors) == (2, ())


def test_in_front_of_and_behind_need_the_object_in_line_with_the_reference():
    boxes = [at(300, bottom=230, position=(1.0, 0.1)),   # in front, in line
             at(200, position=(1.9, 0.7)),               # nearer, but off the line
             at(310, bottom=120, position=(3.5, -0.2)),  # behind, in line
             at(150, position=(2.3, 0.8))]               # farther, but off the line
    front = resolve(Referring(Relation.IN_FRONT_OF, 'red ball'), boxes, [BALL])
    assert (front.index, front.competitors) == (0, ())
    behind = resolve(Referring(Relation.BEHIND, 'red ball'), boxes, [BALL])
    assert (behind.index, behind.competitors) == (2, ())


def test_relations_fall_back_to_the_image_without_positions():
    ball = at(300, bottom=150, score=0.8)
    boxes = [at(100, bottom=150), at(220, bottom=150), at(300, bottom=230), at(300, bottom=90),
             at(420, bottom=150),
             at(370, bottom=170)]  # lower than the ball and close, but beside it: not in front
    left = resolve(Referring(Relation.LEFT_OF, 'red ball'), boxes, [ball], phrase='box')
    assert (left.index, left.competitors) == (1, (0,))
    assert left.explanation == ("6 matches for 'box'; chose the one left of the red ball "
                                '(80 px from it vs 200 px; no range: in the image)')
    assert resolve(Referring(Relation.RIGHT_OF, 'red ball'), boxes, [ball]).index == 5
    assert resolve(Referring(Relation.IN_FRONT_OF, 'red ball'), boxes, [ball]).index == 2
    assert resolve(Referring(Relation.BEHIND, 'red ball'), boxes, [ball]).index == 3


def test_an_unplaced_reference_sends_the_relation_to_the_image():
    # In the base frame box 0 is nearer the ball; in the image box 1 is.
    boxes = [at(100, position=(2.0, 0.3)), at(340, position=(2.0, -1.5))]
    ball = at(300, score=0.8)
    assert resolve(Referring(Relation.NEXT_TO, 'red ball'), boxes, [ball]).index == 1
    assert resolve(Referring(Relation.NEXT_TO, 'red ball'), boxes,
                   [at(300, score=0.8, position=(2.0, 0.0))]).index == 0


def test_a_missing_reference_is_a_clear_error():
    boxes = [at(100), at(300)]
    with pytest.raises(ResolutionError) as error:
        resolve(Referring(Relation.NEXT_TO, 'red ball'), boxes, [], phrase='box')
    assert str(error.value) == "no 'red ball' in view to tell which box is next to it"
    with pytest.raises(ResolutionError, match="no 'red ball' in view"):
        resolve(Referring(Relation.BEHIND, 'red ball'), boxes, [], phrase='box')
    with pytest.raises(ResolutionError, match='needs an object to relate to'):
        resolve(Referring(Relation.LEFT_OF), boxes, [BALL])


def test_no_candidate_on_the_relation_side_is_an_error():
    boxes = [at(100, position=(2.0, 1.0)), at(200, position=(2.0, 0.5))]
    with pytest.raises(ResolutionError) as error:
        resolve(Referring(Relation.RIGHT_OF, 'red ball'), boxes, [BALL], phrase='box')
    assert str(error.value) == "no box is right of the 'red ball'"


def test_a_target_that_is_only_the_reference_itself_is_an_error():
    with pytest.raises(ResolutionError) as error:
        resolve(Referring(Relation.NEXT_TO, 'red box'), [at(300)], [at(302, score=0.95)],
                phrase='box')
    assert str(error.value) == "the only box in view is the 'red box' itself"


@pytest.mark.parametrize('relation', [Relation.NEXT_TO, Relation.LEFT_OF, Relation.RIGHT_OF,
                                      Relation.BEHIND])
def test_a_part_of_the_reference_is_not_another_object(relation):
    """
    A proposal covering part of the reference object is that object, not one beside it.

    Boxes measured in the simulator ("go to the box behind the yellow box", a few cm into the
    drive): the yellow box (133, 61, 185, 105), its right part (173, 61, 187, 97) scored 0.72
    for 'box', the blue box behind it (149, 49, 173, 63); and the mirrored left part.
    """
    yellow = Placed((133, 61, 185, 105), 1.0, (1.63, 0.0))
    right_part = Placed((173, 61, 187, 97), 0.72, (1.70, -0.1))
    left_part = Placed((133, 63, 149, 95), 0.74, (1.70, 0.1))
    blue = Placed((149, 49, 173, 63), 0.98, (3.3, 0.0))
    beside = {Relation.NEXT_TO: (3.0, 0.5), Relation.LEFT_OF: (1.8, 0.8),
              Relation.RIGHT_OF: (1.8, -0.8), Relation.BEHIND: blue.position}[relation]
    other = blue if relation == Relation.BEHIND else Placed((0, 60, 40, 100), 0.9, beside)
    boxes = [yellow, right_part, left_part, other]
    choice = resolve(Referring(relation, 'yellow box'), boxes, [yellow], phrase='box')
    assert (choice.index, choice.competitors) == (3, ())
    with pytest.raises(ResolutionError, match="the only box in view is the 'yellow box' itself"):
        resolve(Referring(relation, 'yellow box'), boxes[:3], [yellow], phrase='box')


def test_an_object_in_front_of_the_reference_within_its_box_is_another_object():
    """A ball standing in front of a big box lies inside its box but reaches lower."""
    big_box = Placed((100, 40, 220, 140), 0.9, (2.0, 0.0))
    ball = Placed((140, 120, 170, 150), 0.9, (1.6, 0.0))
    choice = resolve(Referring(Relation.IN_FRONT_OF, 'big box'), [ball, big_box], [big_box],
                     phrase='ball')
    assert choice.index == 0


# -- competition: scores, duplicates, ties ----------------------------------------------------
def test_every_match_competes_whatever_its_score():
    # The grounder applies score_threshold; what reaches the rules are its matches.
    boxes = [at(50, score=0.45), at(300, score=0.7), at(500, score=0.9)]
    assert pick(Relation.LEFTMOST, boxes).index == 0
    with pytest.raises(ResolutionError, match="no 'box' in view$"):
        pick(Relation.LEFTMOST, [], phrase='box')


def test_overlapping_duplicates_count_once_and_the_better_one_stands():
    boxes = [at(300, score=0.8), at(100, score=0.7), at(104, score=0.9), at(500)]
    choice = pick(Relation.LEFTMOST, boxes)
    assert choice.index == 2  # the better of the two boxes on the same object
    assert 1 not in choice.competitors
    assert choice.explanation.startswith('3 matches;')
    # Side by side (IoU 0.33) they are two objects.
    assert len(pick(Relation.LEFTMOST, [at(100), at(120)]).competitors) == 1


def test_a_box_framing_two_competitors_is_dropped_for_the_one_it_holds():
    # A proposal around the named object and the lower obstacle in front of it scores as
    # well as the object's own box, and its bottom edge (the obstacle's) makes it nearest.
    own = Placed((140.0, 60.0, 200.0, 120.0), 0.8, (3.0, 0.0))
    union = Placed((120.0, 60.0, 220.0, 170.0), 0.9, (1.5, 0.0))
    other = Placed((300.0, 100.0, 340.0, 150.0), 0.7, (2.5, -1.0))
    chosen = choose_among_matches([union, own, other])
    assert (chosen.index, chosen.competitors) == (2, (1,))
    assert pick(Relation.FARTHEST, [union, own, other]).index == 1
    # A box that only overlaps another (less than 80 % of it) frames one object: kept.
    beside = Placed((180.0, 60.0, 240.0, 120.0), 0.6, (2.0, -0.2))
    assert choose_among_matches([own, beside]).index == 1


def test_ties_go_to_the_higher_score_then_the_lower_index():
    stacked = [at(200, bottom=100, score=0.6), at(200, bottom=220, score=0.8), at(400)]
    assert pick(Relation.LEFTMOST, stacked).index == 1
    equal = [at(400), at(200, bottom=100), at(200, bottom=220)]
    assert pick(Relation.LEFTMOST, equal).index == 1


def test_unknown_relations_are_refused():
    @dataclass(frozen=True)
    class Odd:
        relation: Enum = Enum('Other', {'ABOVE': 'above'}).ABOVE
        reference: str = ''
        ordinal: int = 0

    with pytest.raises(ValueError, match='unknown relation'):
        resolve(Odd(), [at(100)])


SCENE = [at(150, width=0.3, position=(2.0, 0.7)),                # left of the ball
         at(450, width=0.5, position=(2.0, -0.8)),               # right of it
         at(300, bottom=235, width=0.2, position=(1.0, 0.05)),   # in front of it
         at(300, bottom=110, width=0.4, position=(3.5, 0.0))]    # behind it
EXPECTED = {Relation.LEFTMOST: 0, Relation.RIGHTMOST: 1, Relation.MIDDLE: 3,
            Relation.NEAREST: 2, Relation.FARTHEST: 3, Relation.BIGGEST: 1,
            Relation.SMALLEST: 2, Relation.NEXT_TO: 0, Relation.LEFT_OF: 0, Relation.RIGHT_OF: 1,
            Relation.IN_FRONT_OF: 2, Relation.BEHIND: 3, Relation.ORDINAL_LEFT: 0,
            Relation.ORDINAL_RIGHT: 1}


def test_every_relation_of_the_parser_has_a_rule():
    assert set(EXPECTED) == set(Relation)  # a relation added to the parser needs a rule here
    for relation, index in EXPECTED.items():
        referring = Referring(relation, 'red ball', ordinal=1)
        assert resolve(referring, SCENE, [BALL], image_width=640).index == index, relation


def test_long_explanations_list_fewer_competitors_then_cut():
    phrase = 'small shiny metallic cylinder with a dented lid and a faded blue label'
    boxes = [at(60.0 * k + 30, position=(2.0 + k, 0.3 * k)) for k in range(10)]
    post = [at(700, score=0.8, position=(2.0, -3.0))]
    choice = resolve(Referring(Relation.NEXT_TO, 'red ball'), boxes, post, phrase=phrase)
    assert choice.explanation == (f"10 matches for '{phrase}'; chose the one next to the red "
                                  'ball (3.00 m from it vs 3.45 m, …)')  # only one other fits
    assert len(choice.competitors) == 9
    longer = resolve(Referring(Relation.NEXT_TO, phrase), boxes, post, phrase=phrase)
    assert len(longer.explanation) == MAX_EXPLANATION and longer.explanation.endswith('…')
    assert longer.index == choice.index


# -- several matches without a relation -----------------------------------------------------
def test_several_matches_choose_the_nearest_and_say_how_to_choose():
    boxes = [at(100, position=(2.0, 0.5)), at(400, position=(1.2, -0.3))]
    choice = choose_among_matches(boxes, phrase='red box')
    assert (choice.index, choice.competitors) == (1, (0,))
    assert choice.explanation == ("2 matches for 'red box'; chose the nearest one (1.24 m vs "
                                  "2.06 m); say 'the one on the left' to choose")


def test_several_matches_without_ranges_choose_the_lowest_box():
    choice = choose_among_matches([at(100, bottom=150), at(400, bottom=210), at(250, bottom=90)])
    assert choice.index == 1
    assert 'no range: lower in the image is nearer' in choice.explanation


def test_one_match_or_none():
    single = choose_among_matches([at(300)], phrase='box')
    assert single == type(single)(0, "1 match for 'box'", ())
    assert choose_among_matches([]) is None


# -- following the chosen object --------------------------------------------------------------
def test_association_follows_the_nearest_position_within_the_gate():
    frame = [at(100, position=(1.6, 0.9)), at(300, position=None), at(500, position=(1.5, 0.1))]
    assert associate((1.7, 0.0), frame, gate_m=0.5) == 2
    # The robot turned: the same object is now on the other side of the image.
    turned = [at(500, position=(1.6, 0.9)), at(100, position=(1.55, 0.05))]
    assert associate((1.5, 0.1), turned, gate_m=0.5) == 1


def test_association_rejects_a_jump_beyond_the_gate():
    frame = [at(100, position=(2.5, 0.9))]
    assert associate((1.5, 0.1), frame, gate_m=0.5) is None
    assert associate((1.5, 0.1), frame, gate_m=1.5) == 0


def test_association_breaks_ties_by_score():
    frame = [at(100, score=0.6, position=(1.0, 0.2)), at(200, score=0.9, position=(1.0, -0.2)),
             at(300, score=0.2, position=(1.3, 0.0))]
    assert associate((1.0, 0.0), frame, gate_m=0.5) == 1


def test_association_needs_a_positive_gate():
    with pytest.raises(ValueError, match='gate must be positive'):
        associate((1.0, 0.0), [at(100, position=(1.0, 0.0))], gate_m=0.0)


# -- placing candidates ----------------------------------------------------------------------
INTRINSICS = Intrinsics(fx=200.0, fy=200.0, cx=160.0, cy=120.0, width=320, height=240)
LEVEL = CameraMount(z=0.5, pitch=0.0)


def test_place_candidate_on_the_floor_measures_width_at_the_bottom_edge():
    # Bottom edge at row 220 (pixel centres): ray slope 0.5 down from 0.5 m height hits the
    # floor 1 m ahead, so a 40 px wide box is 40 * 1.0 / 200 = 0.2 m wide.
    placed = place_candidate(Candidate((150.0, 180.0, 190.0, 220.5), 0.8), INTRINSICS, LEVEL)
    assert placed.box == (150.0, 180.0, 190.0, 220.5) and placed.score == 0.8
    assert placed.position == pytest.approx((1.0, -(169.5 - 160.0) / 200.0))
    assert placed.width == pytest.approx(0.2)
    assert placed.range == pytest.approx(math.hypot(*placed.position))


def test_place_candidate_with_depth_uses_that_depth_for_the_width():
    depth = np.full((240, 320), 2.0, np.float32)
    placed = place_candidate(Candidate((150.0, 100.0, 190.0, 140.0), 0.8), INTRINSICS,
                             CameraMount(z=0.5, pitch=math.radians(10)), depth)
    assert placed.width == pytest.approx(40 * 2.0 / 200.0)


def test_place_candidate_above_the_horizon_has_no_position_or_width():
    placed = place_candidate(Candidate((150.0, 20.0, 190.0, 60.0), 0.8), INTRINSICS, LEVEL)
    assert (placed.position, placed.width) == (None, None)
