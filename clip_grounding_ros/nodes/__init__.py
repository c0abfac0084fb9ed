"""ROS 2 nodes: thin translators between ROS messages and ``clip_grounding_ros.core``."""
