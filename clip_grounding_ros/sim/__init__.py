"""Simulated world for grounding tests and training data: MuJoCo, no ROS.

Scenes of coloured objects (scene.py) and a camera robot driving among them (world.py).
world.py (and with it MuJoCo and an OpenGL backend) is imported on first use of one of its
names, so code that only needs scene descriptions, such as training on a GPU machine from
already rendered views, does not need MuJoCo installed.
"""

from clip_grounding_ros.sim.scene import (
    COLOR_WORDS,
    COLORS,
    ROBOT_RADIUS,
    SHAPE_WORDS,
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

_WORLD_NAMES = ('CameraSpec', 'SimWorld', 'VisibleObject', 'build_mjcf', 'camera_pose_in_base')


def __getattr__(name: str):
    if name in _WORLD_NAMES:
        from clip_grounding_ros.sim import world

        return getattr(world, name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


__all__ = [
    'COLOR_WORDS',
    'COLORS',
    'ROBOT_RADIUS',
    'SHAPE_WORDS',
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
