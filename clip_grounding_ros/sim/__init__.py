"""Simulated world for grounding tests and training data: MuJoCo, no ROS.

Scenes of coloured objects (scene.py) and a camera robot driving among them (world.py).
"""

from clip_grounding_ros.sim.scene import (
    COLORS,
    ROBOT_RADIUS,
    SHAPES,
    Light,
    Scene,
    SceneError,
    SceneObject,
    available_scenes,
    load_scene,
    random_scene,
    scene_from_dict,
    scene_to_dict,
)
from clip_grounding_ros.sim.world import (
    CameraSpec,
    SimWorld,
    VisibleObject,
    build_mjcf,
    camera_pose_in_base,
)

__all__ = [
    'COLORS',
    'ROBOT_RADIUS',
    'SHAPES',
    'CameraSpec',
    'Light',
    'Scene',
    'SceneError',
    'SceneObject',
    'SimWorld',
    'VisibleObject',
    'available_scenes',
    'build_mjcf',
    'camera_pose_in_base',
    'load_scene',
    'random_scene',
    'scene_from_dict',
    'scene_to_dict',
]
