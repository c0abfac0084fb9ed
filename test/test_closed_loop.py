"""Closed-loop episodes: the simulator, the three nodes (separate processes, real DDS) and
the bundled simulator model, judged from the simulator's ground truth.

Each episode takes about 10-20 s of wall time (the simulator runs in real time, which is
what CPU-only grounding keeps up with).
"""

import pytest

from clip_grounding_ros.demo.episode import EpisodeSpec, run_episode


@pytest.mark.parametrize('scene, command, target', [
    ('boxes', 'go to the blue box', 'blue_box'),
    # a synonym; the red cylinder shares the colour, three other boxes the shape
    ('mixed', 'Please drive to the red cube!', 'red_box'),
    # the blue box next to it shares the colour
    ('mixed', 'go to the blue ball', 'blue_sphere'),
    ('mixed', 'head to the yellow sphere', 'yellow_sphere'),
])
def test_robot_reaches_the_named_object_and_stops(scene, command, target, tmp_path):
    result = run_episode(EpisodeSpec(scene=scene, command=command, realtime_factor=1.0,
                                     timeout=60.0, log_dir=str(tmp_path)))
    assert result.outcome == 'reached', result.summary()
    assert result.success, result.summary()
    assert result.closest_object == target and result.target_objects == [target]
    assert result.final_distance <= result.stop_distance + 0.15
    assert result.touched == [] and result.robot_stopped


@pytest.mark.parametrize('command, state, message', [
    # a word the bundled model was never taught: refused before grounding
    ('go to the piano', 'error', "does not know 'piano'"),
    # known words, but nothing like it in view (the purple box is behind the robot)
    ('go to the purple ball', 'lost', "no 'purple ball' in view"),
])
def test_unknown_or_absent_object_leaves_the_robot_stopped(command, state, message, tmp_path):
    result = run_episode(EpisodeSpec(scene='boxes', command=command, realtime_factor=1.0,
                                     timeout=30.0, log_dir=str(tmp_path)))
    assert result.outcome == 'gave_up', result.summary()
    assert result.grounding_status.state == state
    assert message in result.grounding_status.message
    assert result.action_status.state == 'stopped' and result.robot_stopped
    start = result.path[0]
    assert all(abs(x - start[0]) < 0.05 and abs(y - start[1]) < 0.05 for x, y in result.path)


@pytest.mark.parametrize('disturbance, reason', [
    ({'stop_after': 3.0}, 'stop command'),
    # The camera process is frozen (SIGSTOP): stale targets, then no frames at all.
    ({'stall_camera_after': 3.0}, ''),
])
def test_robot_stops_mid_drive(disturbance, reason, tmp_path):
    result = run_episode(EpisodeSpec(scene='boxes', command='go to the blue box',
                                     realtime_factor=1.0, timeout=60.0, settle=3.0,
                                     log_dir=str(tmp_path), **disturbance))
    assert result.outcome == 'stopped', result.summary()
    assert result.robot_stopped
    assert result.final_distance > result.stop_distance + 0.3  # stopped on the way
    assert len(result.path) > 5  # it had been driving
    assert result.action_status.state in ('stopped', 'holding')
    assert reason in result.action_status.reason
    assert result.touched == []
