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

"""A node's process: start-up, spinning, and a clean shutdown on Ctrl-C or SIGTERM."""

from __future__ import annotations

from collections.abc import Callable, Sequence
import re
import signal
import sys
import threading
import traceback

import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.signals import SignalHandlerOptions
import yaml

from .common import ConfigError

CONFIG_ERROR_EXIT = 2  # launch_support.CONFIG_ERROR_EXIT: launch does not restart these


def run_node(factory: Callable[[], Node], args: list[str] | None = None) -> int:
    """
    Create and spin a node; shut down cleanly on Ctrl-C or SIGTERM.

    rclpy's own signal handler would invalidate the context before the node could send
    its last messages (the action node's zero velocity), so SIGINT and SIGTERM are turned
    into KeyboardInterrupt here and the node's ``on_shutdown`` runs while ROS still works.
    Every start-up failure (a missing or unreadable params file, unknown ROS arguments, an
    invalid parameter, a model that does not load) is logged as one line and exits with
    status 2; the traceback, if any, is logged at debug level.
    """
    # The logger of the node-to-be ('GroundingNode' -> grounding_node): it does not exist yet.
    logger = rclpy.logging.get_logger(re.sub(r'(?<!^)(?=[A-Z])', '_', factory.__name__).lower())
    try:
        check_params_files(sys.argv[1:] if args is None else args)
        rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
    except Exception as error:  # noqa: BLE001 - rcl raises several types here
        logger.fatal(f'invalid configuration: {_one_line(error)}')
        return CONFIG_ERROR_EXIT
    # SIGINT too, explicitly: a process started in the background of a script inherits
    # SIGINT ignored, and Python then installs no KeyboardInterrupt handler of its own.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _raise_keyboard_interrupt)
    node = None
    try:
        try:
            node = factory()
        except ConfigError as error:
            logger.fatal(f'invalid configuration: {_one_line(error)}')
            return CONFIG_ERROR_EXIT
        except Exception as error:  # noqa: BLE001 - any start-up failure, one clear line
            logger.debug(traceback.format_exc())
            logger.fatal(f'start-up failed: {type(error).__name__}: {_one_line(error)}')
            return CONFIG_ERROR_EXIT
        executor = SingleThreadedExecutor()
        executor.add_node(node)
        # Python runs signal handlers only between bytecodes, and rclpy.spin waits in C with
        # no timeout: a node whose inputs went quiet (sim_node once action_node has exited
        # under `ros2 launch`) would never see the SIGINT. The timeout bounds that delay.
        while True:
            try:
                executor.spin_once(timeout_sec=0.2)
            except RuntimeError:
                # The interrupt raised inside rclpy's C++ message conversion arrives as a
                # RuntimeError ("Unable to convert call argument"): still a Ctrl-C.
                if not _interrupted.is_set():
                    raise
                break
    except KeyboardInterrupt:
        pass
    finally:
        # A second Ctrl-C (a terminal sends it to the whole group, launch escalates) must not
        # interrupt the shutdown that leaves the robot stopped.
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_IGN)
        if node is not None:
            on_shutdown = getattr(node, 'on_shutdown', None)
            if on_shutdown is not None:
                on_shutdown()
            node.destroy_node()
        rclpy.try_shutdown()
    return 0


def check_params_files(args: Sequence[str]) -> None:
    """
    Raise ConfigError naming a ``--params-file`` that is missing or not YAML.

    Before rcl reads it (rcl's own error is a multi-line trace with C source locations).
    """
    for flag, path in zip(args, args[1:], strict=False):
        if flag != '--params-file':
            continue
        try:
            with open(path) as stream:
                yaml.safe_load(stream)
        except OSError as error:
            raise ConfigError(f"params file '{path}' cannot be read: {error.strerror}") from None
        except yaml.YAMLError as error:
            raise ConfigError(f"params file '{path}' is not valid YAML: "
                              f'{_one_line(error)}') from None


def _one_line(error: BaseException) -> str:
    """Put the error's message on one line, without rcl's C source locations."""
    text = ' '.join(str(error).split()) or type(error).__name__
    if type(error).__name__ == 'UnknownROSArgsError':
        text = f'unknown ROS arguments {text}'
    return re.sub(r', at /\S+:\d+', '', text)


_interrupted = threading.Event()


def _raise_keyboard_interrupt(signum, frame):
    _interrupted.set()
    raise KeyboardInterrupt
