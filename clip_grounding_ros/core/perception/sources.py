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

"""Local frame sources for robots without a camera driver: a webcam, a video, a folder."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import cv2
import numpy as np

IMAGE_SUFFIXES = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp')


class FrameInput(str, Enum):
    """Where camera_node takes its frames from (its ``input`` parameter)."""

    RAW = 'raw'                # sensor_msgs/Image on camera/image_raw
    COMPRESSED = 'compressed'  # sensor_msgs/CompressedImage on camera/image_raw/compressed
    OPENCV = 'opencv'          # a local source (:class:`FrameSource`)

    def __str__(self) -> str:
        return self.value


class SourceError(RuntimeError):
    """The local source cannot be opened or read."""


class FrameSource:
    """
    Reads RGB frames from a device index ("0"), a video file or a folder of images.

    At the end of a video or folder it starts again when ``loop`` is set, else
    :meth:`read` returns None.
    """

    def __init__(self, source: str, loop: bool = True):
        self.source, self.loop = str(source).strip(), loop
        self._capture: cv2.VideoCapture | None = None
        self._files: list[Path] = []
        self._index = 0
        path = Path(self.source).expanduser()
        if self.source.isdigit():
            self._capture = cv2.VideoCapture(int(self.source))
            if not self._capture.isOpened():
                raise SourceError(f'camera device {self.source} cannot be opened')
        elif path.is_dir():
            self._files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            if not self._files:
                raise SourceError(f"folder '{path}' holds no images ({', '.join(IMAGE_SUFFIXES)})")
        elif path.is_file():
            self._capture = cv2.VideoCapture(str(path))
            if not self._capture.isOpened():
                raise SourceError(f"video '{path}' cannot be opened")
        else:
            raise SourceError(f"local source '{self.source}' is neither a device index, "
                              'a video file nor a folder of images')

    def read(self) -> np.ndarray | None:
        if self._files:
            return self._read_file()
        ok, frame = self._capture.read()
        if not ok and self.loop and not self.source.isdigit():
            self._capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, frame = self._capture.read()
        return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB) if ok else None

    def _read_file(self) -> np.ndarray | None:
        if self._index >= len(self._files):
            if not self.loop:
                return None
            self._index = 0
        path = self._files[self._index]
        self._index += 1
        frame = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if frame is None:
            raise SourceError(f"image '{path}' cannot be decoded")
        return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
