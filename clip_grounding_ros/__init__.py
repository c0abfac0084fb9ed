"""CLIP grounding for ROS 2."""
