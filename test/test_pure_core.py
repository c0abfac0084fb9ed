"""The pure-core rule: core/ and sim/ never import rclpy, so they run (and are tested,
trained on, benchmarked) without ROS. Checked by importing every module in a fresh
interpreter, which also catches an import hidden in a dependency."""

import json
import subprocess
import sys

SCRIPT = """
import importlib, json, pkgutil, sys
modules, first_with_rclpy = [], None
for package in ('clip_grounding_ros.core', 'clip_grounding_ros.sim'):
    path = importlib.import_module(package).__path__
    for module in pkgutil.walk_packages(path, package + '.'):
        importlib.import_module(module.name)
        modules.append(module.name)
        if first_with_rclpy is None and 'rclpy' in sys.modules:
            first_with_rclpy = module.name
print(json.dumps({'modules': modules, 'first_with_rclpy': first_with_rclpy}))
"""


def test_core_and_sim_modules_never_import_rclpy():
    result = subprocess.run([sys.executable, '-c', SCRIPT], capture_output=True, text=True,
                            timeout=120, check=True)
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert {'clip_grounding_ros.core.grounding', 'clip_grounding_ros.sim.world'} <= \
        set(report['modules'])  # the walk really covered both packages
    assert report['first_with_rclpy'] is None, f"{report['first_with_rclpy']} imports rclpy"
