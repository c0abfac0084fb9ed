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
MuJoCo world for a scene: a differential-drive robot with a forward camera among objects.

Plain Python (no ROS) so the ROS node, the training-data renderer and the closed-loop tests all
drive the same simulator and read the same ground truth.
"""

from __future__ import annotations

import ctypes.util
from dataclasses import dataclass
import functools
import math
import os
from typing import TYPE_CHECKING

# MuJoCo picks its OpenGL backend from MUJOCO_GL when it is first imported. Robots and CI have no
# display for the default GLFW backend, so prefer software OSMesa when installed (works anywhere),
# else EGL (headless GPU). Has no effect if mujoco was imported before this module.
if 'MUJOCO_GL' not in os.environ:
    os.environ['MUJOCO_GL'] = 'osmesa' if ctypes.util.find_library('OSMesa') else 'egl'

from clip_grounding_ros.sim.scene import COLORS, position_at, ROBOT_RADIUS, Scene, SceneObject
from clip_grounding_ros.sim.textures import OBJECT_CONTRAST, SURFACE_CONTRAST, texture_image
import cv2
import mujoco
import numpy as np

if TYPE_CHECKING:
    from typing import Self  # annotations only: keeps Python 3.10 importing this module

ROBOT_HALF_HEIGHT = 0.125
ROBOT_CLEARANCE = 0.03  # gap under the chassis, where the (visual) wheels show
ROBOT_MASS = 10.0
WHEEL_RADIUS = 0.05
WALL_HEIGHT = 2.5
WALL_THICKNESS = 0.1
# Velocity-servo gains: ~20 ms time constant for mass 10 kg / yaw inertia 0.16 kg m^2, with a force
# cap so the robot pushes into obstacles gently instead of with unbounded force.
LINEAR_GAIN = 500.0
ANGULAR_GAIN = 8.0
LINEAR_FORCE_LIMIT = 150.0
ANGULAR_TORQUE_LIMIT = 20.0
OBJECT_EMISSION = 0.3
CAMERA_NAME = 'robot_camera'
OBJECT_GEOM_PREFIX = 'object:'
# Texture images: objects map one image onto each face (a cube texture, about 1-2 mm a texel
# on a 30 cm box); floor and walls repeat theirs every SURFACE_TEXTURE_METRES.
OBJECT_TEXTURE_SIZE = 128
SURFACE_TEXTURE_SIZE = 256
SURFACE_TEXTURE_METRES = 1.0


@dataclass(frozen=True)
class CameraSpec:
    """The robot's forward camera: image size, vertical field of view and mount on the base."""

    width: int = 320
    height: int = 240
    fovy_deg: float = 60.0
    mount_x: float = 0.15  # metres ahead of the base origin
    mount_z: float = 0.35  # metres above the floor
    pitch_deg: float = 20.0  # positive tilts the camera down
    antialias: bool = True  # 4x multisampling; False renders about twice as fast in software GL

    def intrinsics(self) -> tuple[float, float, float, float]:
        """
        Pinhole (fx, fy, cx, cy) in pixels, matching MuJoCo's renders exactly.

        OpenGL puts pixel i's centre at window coordinate i + 0.5 and the optical axis at
        width/2; in the OpenCV/ROS convention (pixel centres at integers) that axis lies at
        (width - 1)/2. MuJoCo derives the horizontal field of view from fovy and the aspect
        ratio, so pixels are square (fx == fy).
        """
        fy = (self.height / 2.0) / math.tan(math.radians(self.fovy_deg) / 2.0)
        return fy, fy, (self.width - 1) / 2.0, (self.height - 1) / 2.0


def camera_pose_in_base(camera: CameraSpec) -> tuple[np.ndarray, np.ndarray]:
    """
    Position and rotation of the camera's optical frame in the robot base frame.

    Optical frame as in ROS/OpenCV: x right, y down, z along the viewing direction. The rotation
    matrix's columns are those axes expressed in the base frame (x forward, y left, z up).
    """
    pitch = math.radians(camera.pitch_deg)
    forward = np.array([math.cos(pitch), 0.0, -math.sin(pitch)])
    right = np.array([0.0, -1.0, 0.0])
    down = np.cross(forward, right)
    return np.array([camera.mount_x, 0.0, camera.mount_z]), np.column_stack([right, down, forward])


def _vec(values: tuple[float, ...] | np.ndarray) -> str:
    return ' '.join(f'{float(v):.12g}' for v in values)


def _object_material(obj: SceneObject) -> str:
    return f'color_{obj.color}' + (f'_{obj.texture}' if obj.texture else '')


def _object_geom(obj: SceneObject) -> str:
    """
    Return a static object as a geom of the world body; a moving one as a mocap body.

    A mocap body is kinematic: SimWorld.step sets its position, contacts never push it, but
    its geom still collides with the robot (and so counts as touched). It keeps its height
    and yaw. Body and geom share the name (MuJoCo keeps them in separate namespaces).
    """
    name = f'{OBJECT_GEOM_PREFIX}{obj.name}'
    placement = f'pos="{_vec((*obj.position, obj.height / 2.0))}" euler="0 0 {obj.yaw:.12g}"'
    shape = f'type="{obj.shape}" size="{_vec(obj.size)}" material="{_object_material(obj)}"'
    if obj.motion is None:
        return f'<geom name="{name}" {shape} {placement}/>'
    return f'<body name="{name}" mocap="true" {placement}><geom name="{name}" {shape}/></body>'


@functools.lru_cache(maxsize=64)
def _png(kind: str, seed: int, size: int, contrast: tuple[float, float]) -> bytes:
    """Encode a grey texture image as PNG (cached: training renders many worlds)."""
    ok, encoded = cv2.imencode('.png', texture_image(kind, seed, size, contrast=contrast))
    if not ok:
        raise RuntimeError(f'could not encode texture {kind!r} as PNG')
    return encoded.tobytes()


def texture_assets(scene: Scene) -> dict[str, bytes]:
    """
    Return the PNG images that build_mjcf's textures name, by file name (empty if untextured).

    Images are grey: the material's colour tints them, so one image serves every colour. Pass
    them as `assets` to mujoco.MjModel.from_xml_string; nothing is written to disk.
    """
    seed = scene.texture_seed
    assets = {
        f'object_{kind}.png': _png(kind, seed, OBJECT_TEXTURE_SIZE, OBJECT_CONTRAST)
        for kind in sorted({obj.texture for obj in scene.objects if obj.texture})
    }
    for surface in ('floor', 'wall'):
        kind = getattr(scene, f'{surface}_texture')
        if kind:
            assets[f'{surface}.png'] = _png(kind, seed, SURFACE_TEXTURE_SIZE, SURFACE_CONTRAST)
    return assets


def _texture_xml(scene: Scene) -> list[str]:
    """Return the <texture>/<material> assets of textured objects (one material a colour)."""
    lines = [
        f'<texture name="object_{kind}" type="cube" file="object_{kind}.png"/>'
        for kind in sorted({obj.texture for obj in scene.objects if obj.texture})
    ]
    lines += [
        f'<material name="color_{color}_{kind}" texture="object_{kind}" '
        f'rgba="{_vec(COLORS[color])} 1" emission="{OBJECT_EMISSION}" specular="0.2" '
        'shininess="0.3"/>'
        for color, kind in sorted({(obj.color, obj.texture) for obj in scene.objects
                                   if obj.texture})
    ]
    return lines


def _wall_geoms(scene: Scene) -> list[str]:
    """
    Four walls whose inner faces are at +-room_size/2.

    MuJoCo maps a 2d texture onto a box along its local x and y axes, so a textured wall is
    the same box turned to lie with its long side along local x, its height along local y and
    its thickness along local z (untextured walls keep the original, equal form).
    """
    half = scene.room_size / 2.0
    offset = half + WALL_THICKNESS / 2.0
    long_half = half + WALL_THICKNESS
    walls = {'east': (offset, 0.0, 0.0), 'west': (-offset, 0.0, 0.0)}
    walls |= {'north': (0.0, offset, math.pi / 2.0), 'south': (0.0, -offset, math.pi / 2.0)}
    geoms = []
    for name, (x, y, yaw) in walls.items():
        if scene.wall_texture:
            size = (long_half, WALL_HEIGHT / 2.0, WALL_THICKNESS / 2.0)
            along = (-math.sin(yaw), math.cos(yaw), 0.0)  # the wall's length in the world
            orientation = f'xyaxes="{_vec((*along, 0.0, 0.0, 1.0))}"'
        else:
            size = (WALL_THICKNESS / 2.0, long_half, WALL_HEIGHT / 2.0)
            orientation = f'euler="0 0 {yaw:.12g}"'
        geoms.append(
            f'<geom name="wall_{name}" type="box" size="{_vec(size)}" '
            f'pos="{_vec((x, y, WALL_HEIGHT / 2.0))}" {orientation} material="wall"/>'
        )
    return geoms


def _surface_assets(scene: Scene) -> str:
    """Return the floor's and walls' <texture>/<material> assets: checker and flat, or textured."""
    repeat = f'{1.0 / SURFACE_TEXTURE_METRES:.12g}'
    lines = []
    if scene.floor_texture:
        lines += ['<texture name="floor" type="2d" file="floor.png"/>',
                  f'<material name="floor" texture="floor" rgba="{_vec(scene.floor_rgb)} 1" '
                  f'texrepeat="{repeat} {repeat}" texuniform="true"/>']
    else:
        floor_dark = tuple(0.88 * c for c in scene.floor_rgb)  # subtle: depth cues, no clutter
        lines += [f'<texture name="floor" type="2d" builtin="checker" '
                  f'rgb1="{_vec(scene.floor_rgb)}"\n'
                  f'             rgb2="{_vec(floor_dark)}" width="64" height="64"/>',
                  '<material name="floor" texture="floor" texrepeat="1 1" texuniform="true"/>']
    if scene.wall_texture:
        lines += ['<texture name="wall" type="2d" file="wall.png"/>',
                  f'<material name="wall" texture="wall" rgba="{_vec(scene.wall_rgb)} 1" '
                  f'texrepeat="{repeat} {repeat}" texuniform="true"/>']
    else:
        lines.append(f'<material name="wall" rgba="{_vec(scene.wall_rgb)} 1"/>')
    return '\n    '.join(lines)


def _robot_body(camera: CameraSpec) -> str:
    """Planar base (slide x, slide y, hinge yaw) with a collision cylinder and visual details."""
    chassis_z = ROBOT_CLEARANCE + ROBOT_HALF_HEIGHT
    top_z = chassis_z + ROBOT_HALF_HEIGHT
    wheel_y = ROBOT_RADIUS - 0.02
    pitch = math.radians(camera.pitch_deg)
    visual = 'contype="0" conaffinity="0" density="0"'
    mast_height = max(camera.mount_z - top_z, 0.01)
    return f"""
    <body name="robot">
      <joint name="robot_x" type="slide" axis="1 0 0"/>
      <joint name="robot_y" type="slide" axis="0 1 0"/>
      <joint name="robot_yaw" type="hinge" axis="0 0 1"/>
      <geom name="robot_chassis" type="cylinder" size="{ROBOT_RADIUS} {ROBOT_HALF_HEIGHT}"
            pos="0 0 {chassis_z}" mass="{ROBOT_MASS}" material="robot"/>
      <geom name="robot_front_marker" type="box" size="0.03 0.06 0.005"
            pos="{ROBOT_RADIUS - 0.06} 0 {top_z}" material="robot_marker" {visual}/>
      <geom name="robot_wheel_left" type="cylinder" size="{WHEEL_RADIUS} 0.02"
            pos="0 {wheel_y} {WHEEL_RADIUS}" zaxis="0 1 0" material="wheel" {visual}/>
      <geom name="robot_wheel_right" type="cylinder" size="{WHEEL_RADIUS} 0.02"
            pos="0 {-wheel_y} {WHEEL_RADIUS}" zaxis="0 1 0" material="wheel" {visual}/>
      <geom name="robot_mast" type="cylinder" size="0.015 {mast_height / 2.0}"
            pos="{camera.mount_x - 0.05} 0 {top_z + mast_height / 2.0}" material="wheel" {visual}/>
      <camera name="{CAMERA_NAME}" pos="{camera.mount_x} 0 {camera.mount_z}"
              xyaxes="0 -1 0 {math.sin(pitch):.12g} 0 {math.cos(pitch):.12g}"
              fovy="{camera.fovy_deg}"/>
    </body>"""


def build_mjcf(scene: Scene, camera: CameraSpec = CameraSpec(), timestep: float = 0.005) -> str:
    """
    Build the MJCF XML for `scene`.

    Walls and static objects are geoms of the world body; moving objects mocap bodies.
    """
    light = scene.light
    # Floor and ceiling reach under the walls so no crack shows the void at the edges.
    plane_half = scene.room_size / 2.0 + WALL_THICKNESS
    # Some emission keeps object colours vivid on faces the overhead light barely reaches;
    # without it a white cylinder renders as the floor's grey. Black stays black.
    materials = '\n    '.join(
        f'<material name="color_{name}" rgba="{_vec(rgb)} 1" emission="{OBJECT_EMISSION}" '
        'specular="0.2" shininess="0.3"/>'
        for name, rgb in COLORS.items()
    )
    materials = '\n    '.join([materials, *_texture_xml(scene)])
    objects = '\n    '.join(_object_geom(obj) for obj in scene.objects)
    walls = '\n    '.join(_wall_geoms(scene))
    # Depth precision depends on the clip planes, which MuJoCo scales by the model extent.
    extent = scene.room_size
    return f"""<mujoco model="{scene.name}">
  <compiler angle="radian"/>
  <option timestep="{timestep}" integrator="implicitfast"/>
  <statistic extent="{extent}" center="0 0 0"/>
  <visual>
    <global offwidth="{camera.width}" offheight="{camera.height}"/>
    <quality offsamples="{4 if camera.antialias else 0}"/>
    <headlight active="1" ambient="{_vec((light.ambient,) * 3)}"
               diffuse="{_vec((light.headlight,) * 3)}" specular="0.05 0.05 0.05"/>
    <map znear="{0.02 / extent:.12g}" zfar="2"/>
  </visual>
  <asset>
    {_surface_assets(scene)}
    <material name="robot" rgba="0.3 0.3 0.33 1"/>
    <material name="robot_marker" rgba="0.9 0.9 0.2 1"/>
    <material name="wheel" rgba="0.1 0.1 0.1 1"/>
    {materials}
  </asset>
  <worldbody>
    <light name="sun" directional="true" pos="0 0 {WALL_HEIGHT * 3}" dir="{_vec(light.direction)}"
           diffuse="{_vec((light.intensity,) * 3)}" specular="0.1 0.1 0.1" castshadow="false"/>
    <!-- The floor never collides: the robot has no vertical joint and the objects are static
         or kinematic, so floor contacts could only add friction to the planar joints. -->
    <geom name="floor" type="plane" size="{plane_half} {plane_half} 0.1" material="floor"
          contype="0" conaffinity="0"/>
    {walls}
    <!-- A closed room: cheaper to render than a skybox, and no black void above the walls. -->
    <geom name="ceiling" type="plane" size="{plane_half} {plane_half} 0.1" pos="0 0 {WALL_HEIGHT}"
          euler="{math.pi:.12g} 0 0" material="wall" contype="0" conaffinity="0"/>
    {objects}
    {_robot_body(camera)}
  </worldbody>
  <actuator>
    <velocity name="drive_x" joint="robot_x" kv="{LINEAR_GAIN}"
              forcelimited="true" forcerange="{-LINEAR_FORCE_LIMIT} {LINEAR_FORCE_LIMIT}"/>
    <velocity name="drive_y" joint="robot_y" kv="{LINEAR_GAIN}"
              forcelimited="true" forcerange="{-LINEAR_FORCE_LIMIT} {LINEAR_FORCE_LIMIT}"/>
    <velocity name="drive_yaw" joint="robot_yaw" kv="{ANGULAR_GAIN}"
              forcelimited="true" forcerange="{-ANGULAR_TORQUE_LIMIT} {ANGULAR_TORQUE_LIMIT}"/>
  </actuator>
</mujoco>
"""


@dataclass(frozen=True)
class VisibleObject:
    """An object seen by the camera: tight pixel box (x1, y1, x2, y2; x2/y2 exclusive)."""

    name: str
    box: tuple[int, int, int, int]
    pixels: int


class SimWorld:
    """
    A steppable, renderable MuJoCo world built from a Scene.

    Frames follow REP-103: world x/y on the floor and z up; base x forward, y left; positive
    yaw rate turns left.
    """

    def __init__(self, scene: Scene, camera: CameraSpec = CameraSpec(), timestep: float = 0.005):
        self.scene = scene
        self.camera = camera
        self.timestep = timestep
        self.model = mujoco.MjModel.from_xml_string(
            build_mjcf(scene, camera, timestep), assets=texture_assets(scene)
        )
        self.data = mujoco.MjData(self.model)
        self._camera_id = self.model.camera(CAMERA_NAME).id
        joints = [self.model.joint(name) for name in ('robot_x', 'robot_y', 'robot_yaw')]
        self._qpos = [int(joint.qposadr[0]) for joint in joints]
        self._qvel = [int(joint.dofadr[0]) for joint in joints]
        self._chassis_geom = self.model.geom('robot_chassis').id
        # Lookup table geom id -> index into scene.objects (-1: floor, walls, robot).
        self._geom_to_object = np.full(self.model.ngeom, -1, dtype=np.int32)
        for index, obj in enumerate(scene.objects):
            self._geom_to_object[self.model.geom(OBJECT_GEOM_PREFIX + obj.name).id] = index
        # Moving objects: name -> (object, row of data.mocap_pos).
        self._moving = {
            obj.name: (obj, int(self.model.body_mocapid[self.model.body(
                OBJECT_GEOM_PREFIX + obj.name).id]))
            for obj in scene.objects if obj.motion is not None
        }
        self._renderer: mujoco.Renderer | None = mujoco.Renderer(
            self.model, camera.height, camera.width
        )
        self._segmentation_renderer: mujoco.Renderer | None = None  # made on first use
        self._command = (0.0, 0.0)
        self._steps = 0
        self._touched: set[str] = set()
        self.reset()

    # -- lifecycle -------------------------------------------------------------------------
    def reset(self) -> None:
        """Back to the scene's start: robot and moving objects, time 0, no contacts recorded."""
        mujoco.mj_resetData(self.model, self.data)
        self._command = (0.0, 0.0)
        self._steps = 0
        self._touched.clear()
        self._move_objects(0.0)
        self.set_robot_pose(*self.scene.robot_start)

    def close(self) -> None:
        """Free the OpenGL renderers (explicitly: GC at interpreter exit prints GL tracebacks)."""
        for renderer in (self._renderer, self._segmentation_renderer):
            if renderer is not None:
                renderer.close()
        self._renderer = self._segmentation_renderer = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- motion ----------------------------------------------------------------------------
    @property
    def time(self) -> float:
        """Count simulated seconds since start/reset (in whole steps, so it never drifts)."""
        return self._steps * self.timestep

    def set_velocity(self, v: float, w: float) -> None:
        """Command body-frame forward speed v (m/s) and yaw rate w (rad/s, + turns left)."""
        self._command = (float(v), float(w))

    def step(self, duration: float) -> None:
        """Advance physics by `duration` seconds, which must be a whole number of timesteps."""
        count = round(duration / self.timestep)
        if count < 0 or not math.isclose(count * self.timestep, duration, abs_tol=1e-9):
            raise ValueError(
                f'duration {duration} s is not a non-negative multiple of the '
                f'timestep {self.timestep} s'
            )
        v, w = self._command
        yaw_index = self._qpos[2]
        for index in range(count):
            # Each physics step starts from the moving objects' places at its start time.
            self._move_objects((self._steps + index) * self.timestep)
            # Unicycle kinematics: rotate the body-frame command into world-frame joint targets.
            yaw = self.data.qpos[yaw_index]
            self.data.ctrl[:] = (v * math.cos(yaw), v * math.sin(yaw), w)
            mujoco.mj_step(self.model, self.data)
            self._record_contacts()
        self._steps += count
        self._move_objects(self.time)
        # mj_step leaves positions-derived quantities (camera pose) one step behind qpos.
        mujoco.mj_forward(self.model, self.data)

    def _move_objects(self, t: float) -> None:
        """Put each moving object where its motion has it at simulated time t (s)."""
        for obj, row in self._moving.values():
            self.data.mocap_pos[row, :2] = position_at(obj, t)

    def _record_contacts(self) -> None:
        contacts = self.data.contact
        if not len(contacts):
            return
        pairs = np.column_stack([contacts.geom1, contacts.geom2])
        with_robot = np.any(pairs == self._chassis_geom, axis=1)
        for other in pairs[with_robot].ravel():
            index = self._geom_to_object[other]
            if index >= 0:
                self._touched.add(self.scene.objects[index].name)

    def robot_pose(self) -> tuple[float, float, float]:
        """(x, y, yaw) of the base in the world frame, yaw wrapped to [-pi, pi)."""
        x, y, yaw = (float(self.data.qpos[i]) for i in self._qpos)
        return x, y, (yaw + math.pi) % (2.0 * math.pi) - math.pi

    def robot_velocity(self) -> tuple[float, float]:
        """Measured body-frame (forward speed, yaw rate)."""
        vx, vy, w = (float(self.data.qvel[i]) for i in self._qvel)
        yaw = float(self.data.qpos[self._qpos[2]])
        return vx * math.cos(yaw) + vy * math.sin(yaw), w

    def set_robot_pose(self, x: float, y: float, yaw: float) -> None:
        """Teleport the robot (at rest); the caller must keep it clear of objects and walls."""
        self.data.qpos[self._qpos] = (x, y, yaw)
        self.data.qvel[self._qvel] = 0.0
        mujoco.mj_forward(self.model, self.data)

    # -- ground truth ----------------------------------------------------------------------
    def touched_objects(self) -> set[str]:
        """Names of objects the robot body has touched since start/reset."""
        return set(self._touched)

    def object_position(self, name: str) -> tuple[float, float]:
        """
        Return where the object is now: (x, y) of its centre on the floor, world frame, m.

        A static object's is its scene position; a moving one's follows scene.position_at.
        """
        if name in self._moving:
            x, y = self.data.mocap_pos[self._moving[name][1], :2]
            return float(x), float(y)
        return self.scene.object(name).position

    def distance_to_object(self, name: str) -> float:
        """Horizontal distance from the base origin to the object's footprint where it is now."""
        x, y, _ = self.robot_pose()
        return self.scene.object(name).surface_distance(x, y, self.object_position(name))

    # -- rendering -------------------------------------------------------------------------
    def _segmentation(self) -> mujoco.Renderer:
        """
        Return the renderer of segmentation, a context without multisampling (made on first use).

        Resolving the samples averages the ID colours of neighbouring geoms at object edges, and
        an average decodes to some other geom. Measured with EGL on an NVIDIA GPU:
        visible_objects' boxes stretched across the image by a few stray pixels (Mesa's GL here
        does not blend them).
        """
        if self._segmentation_renderer is None:
            antialias_samples = self.model.vis.quality.offsamples
            self.model.vis.quality.offsamples = 0
            try:
                self._segmentation_renderer = mujoco.Renderer(
                    self.model, self.camera.height, self.camera.width
                )
            finally:
                self.model.vis.quality.offsamples = antialias_samples
        return self._segmentation_renderer

    def _render(self, mode: str) -> np.ndarray:
        if self._renderer is None:
            raise RuntimeError('SimWorld is closed')
        renderer = self._segmentation() if mode == 'segmentation' else self._renderer
        renderer.disable_depth_rendering()
        renderer.disable_segmentation_rendering()
        if mode == 'depth':
            renderer.enable_depth_rendering()
        elif mode == 'segmentation':
            renderer.enable_segmentation_rendering()
        renderer.update_scene(self.data, camera=self._camera_id)
        return renderer.render()

    def render(self) -> np.ndarray:
        """RGB image (H x W x 3, uint8) from the robot camera."""
        return self._render('rgb')

    def render_depth(self) -> np.ndarray:
        """Depth (H x W, float32): metres along the optical axis (not along each ray)."""
        return self._render('depth')

    def render_segmentation(self) -> np.ndarray:
        """Per-pixel index into scene.objects (H x W, int32); -1 for floor, walls, robot, sky."""
        ids = self._render('segmentation')
        is_geom = ids[:, :, 1] == int(mujoco.mjtObj.mjOBJ_GEOM)
        return np.where(is_geom, self._geom_to_object[ids[:, :, 0]], -1).astype(np.int32)

    def visible_objects(
        self, min_pixels: int = 20, segmentation: np.ndarray | None = None
    ) -> dict[str, VisibleObject]:
        """
        Objects with at least `min_pixels` visible pixels, keyed by name.

        Pass a segmentation rendered earlier to describe exactly that frame.
        """
        if segmentation is None:
            segmentation = self.render_segmentation()
        indices, counts = np.unique(segmentation[segmentation >= 0], return_counts=True)
        visible = {}
        for index, count in zip(indices, counts, strict=True):
            if count < min_pixels:
                continue
            mask = segmentation == index
            rows = np.flatnonzero(mask.any(axis=1))
            cols = np.flatnonzero(mask.any(axis=0))
            name = self.scene.objects[index].name
            box = (int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1)
            visible[name] = VisibleObject(name, box, int(count))
        return visible

    def visible_boxes(self, min_pixels: int = 20) -> dict[str, tuple[int, int, int, int]]:
        """Object name -> tight pixel box (x1, y1, x2, y2), x2/y2 exclusive."""
        return {name: seen.box for name, seen in self.visible_objects(min_pixels).items()}
