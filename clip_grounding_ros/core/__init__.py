"""The pure core of clip_grounding_ros: grounding, parsing, geometry and control.

Nothing under this package imports ROS, so every piece can be tested and reused on its own;
the nodes in ``clip_grounding_ros.nodes`` only translate between ROS messages and it.
"""
