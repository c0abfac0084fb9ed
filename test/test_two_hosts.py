"""The robot and its grounding node on two hosts joined by a real network link.

Two network namespaces and a veth (test/netns.py; root and iproute2 needed, as in CI)
stand for the robot (sim_node, action_node, a JPEG republisher stand-in) and a
workstation (camera_node with compressed input, grounding_node); DDS discovers across the
link by multicast and carries the data over UDP (test/two_hosts.py). The demo's command
must still bring the robot to the blue box, with JPEG frames, not raw ones, on the link,
as the veth's own byte counters show.
"""

import contextlib

import pytest

from netns import NetnsPair, NetnsUnavailable
from two_hosts import run_two_hosts


@pytest.fixture
def hosts():
    with contextlib.ExitStack() as stack:
        try:
            pair = stack.enter_context(NetnsPair('robot', 'ws'))
        except NetnsUnavailable as error:
            pytest.skip(f'needs network namespaces: {error}')
        yield pair


@pytest.mark.slow
def test_grounding_on_another_host_reaches_the_target_with_compressed_frames(hosts, tmp_path):
    run = run_two_hosts(hosts, 'compressed', tmp_path, scene='boxes',
                        command='go to the blue box', realtime_factor=1.0, timeout=60.0)
    summary = run.summary
    assert summary['success'] and summary['outcome'] == 'reached', (summary, run.log_dir)
    assert summary['reached_object'] == 'blue_box'

    # camera_node on the workstation took JPEG frames from the robot across the link ...
    camera = run.camera[-1]
    assert camera['input'] == 'compressed' and camera['errors'] == 0, camera
    received = camera['received']
    assert received >= 50, camera  # 10 frames/s for well over 5 s
    # ... and the link carried them: at least the smallest JPEG for each frame received
    # (discovery and the small topics alone come nowhere near), but less than the raw frames
    # would have needed (230 400 bytes each at 320x240), so raw frames did not cross.
    to_ws = run.link['ws']['rx']
    raw_frame = run.relay['raw_bytes'] / run.relay['frames']
    assert to_ws >= received * run.relay['min_jpeg_bytes'], (to_ws, run.relay, camera)
    assert to_ws < received * raw_frame / 2, (to_ws, run.relay, camera)
